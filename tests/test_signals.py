"""Stops and starts: a signal while a stop is being recorded, Prefect's own SIGTERM answer, which
earlier run ``arcloop benchmark --resume`` continues, a Prefect server that does not start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from campaign_support import fast_config, tiny_benchmark
from prefect.exceptions import TerminationSignal

from arcloop import interrupt, tracking
from arcloop.cli import main
from arcloop.config import BenchmarkConfig, validated
from arcloop.errors import ArcloopError
from arcloop.flows.benchmark import resumed_parent
from arcloop.interrupt import CampaignInterrupted
from arcloop.tasks.settings import terminations_as_stops


def test_once_a_stop_is_under_way_further_signals_are_said_and_do_not_cut_it_short(capsys):
    with interrupt.stop_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)  # the first: a request
        assert interrupt.requested() == signal.SIGTERM
        with pytest.raises(CampaignInterrupted, match="stopped by SIGTERM"):
            interrupt.check()  # the safe point: the stop is under way
        os.kill(os.getpid(), signal.SIGTERM)  # ending the runs: not cut short
        os.kill(os.getpid(), signal.SIGINT)
        assert capsys.readouterr().err.count("already stopping") == 2

    with interrupt.stop_on_signals():  # a second signal before any safe point: at once, then no more
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(CampaignInterrupted, match="at once by a second SIGINT"):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        assert "already stopping" in capsys.readouterr().err


def test_prefects_termination_and_unadvised_stops_end_with_the_advice():
    with pytest.raises(CampaignInterrupted) as stop, terminations_as_stops("resume with X"):
        raise TerminationSignal(signal.SIGTERM)
    assert str(stop.value) == "stopped by SIGTERM; resume with X"
    assert stop.value.exit_code == 143 and stop.value.advised

    with pytest.raises(CampaignInterrupted) as stop, terminations_as_stops("resume with X"):
        raise CampaignInterrupted("stopped at once by a second SIGINT", signal.SIGINT)
    assert str(stop.value) == "stopped at once by a second SIGINT; resume with X"
    assert stop.value.exit_code == 130

    with pytest.raises(CampaignInterrupted) as stop, terminations_as_stops("resume with X"):
        raise CampaignInterrupted("campaign stopped; resume with: Y", advised=True)
    assert str(stop.value) == "campaign stopped; resume with: Y"


@pytest.fixture
def bench(tmp_path: Path) -> BenchmarkConfig:
    return validated(BenchmarkConfig, tiny_benchmark(tmp_path, f"sqlite:///{tmp_path / 'mlruns.db'}"))


def parent_run(bench: BenchmarkConfig, name: str | None = None) -> str:
    tags = {"kind": "benchmark", "benchmark": name or bench.name}
    return tracking.start_run(
        bench.tracking.uri, bench.tracking.experiment, "benchmark-x", tags=tags, params={}
    )


def test_resume_by_the_benchmarks_folder_finds_its_newest_unfinished_run(bench):
    uri = bench.tracking.uri
    named = Path(bench.output_dir) / bench.name
    assert resumed_parent(bench, uri, named) is None  # nothing recorded yet: the benchmark starts

    older, other = parent_run(bench), parent_run(bench, "another")
    newer = parent_run(bench)
    finished = parent_run(bench)
    tracking.end_run(uri, finished, "FINISHED")
    tracking.end_run(uri, older, "KILLED")
    assert resumed_parent(bench, uri, named) == (named.resolve() / newer, newer)
    tracking.end_run(uri, newer, "FINISHED")
    assert resumed_parent(bench, uri, named) == (named.resolve() / older, older)
    tracking.end_run(uri, older, "FINISHED")  # all finished: the newest is read back
    assert resumed_parent(bench, uri, named) == (named.resolve() / finished, finished)
    # A run's own folder, even one its kill never let exist; the run of another benchmark is not taken.
    assert resumed_parent(bench, uri, named / older) == (named.resolve() / older, older)
    assert other not in {resumed_parent(bench, uri, named)[1]}


def test_resume_of_a_folder_that_is_no_benchmarks_is_one_line(bench, tmp_path, capsys):
    (tmp_path / "elsewhere" / "campaigns").mkdir(parents=True)
    with pytest.raises(ArcloopError, match="holds no parent run elsewhere"):
        resumed_parent(bench, bench.tracking.uri, tmp_path / "elsewhere")
    with pytest.raises(ArcloopError, match=r"not a benchmark folder; give OUTPUT_DIR/NAME/PARENT_RUN_ID or"):
        resumed_parent(bench, bench.tracking.uri, tmp_path)

    config = tmp_path / "grid.yaml"
    config.write_text(yaml.safe_dump(bench.model_dump(mode="json")))
    assert main(["benchmark", "--config", str(config), "--resume", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a benchmark folder" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_prefect_server_that_does_not_start_is_tried_twice_then_one_line(tmp_path):
    """No answer within the start-up timeout (here 0 s: never): two tries, then one line naming the
    setting and the way out, status 2, the campaign's config.yaml kept, no server process left."""
    import psutil

    config = fast_config(tmp_path, f"sqlite:///{tmp_path / 'mlruns.db'}")
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(config))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    }
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0",
        "PREFECT_LOGGING_LEVEL": "INFO",  # Prefect logs each start of its server
    }
    done = subprocess.run(
        [sys.executable, "-c", "from arcloop.cli import run; run()", "campaign", "--config", "campaign.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert said[-1].startswith("error: the temporary Prefect server did not start, tried twice with ")
    assert "prefect server start" in said[-1]
    assert done.stderr.count("did not answer within 0 s; trying once more") == 1
    assert (done.stdout + done.stderr).count("Starting temporary server") == 2  # Prefect's own log
    assert (Path(config["state_dir"]) / "config.yaml").is_file()
    left = [
        process.info["cmdline"]
        for process in psutil.process_iter(["cmdline", "environ"])
        if "uvicorn" in " ".join(process.info["cmdline"] or [])
        and (process.info["environ"] or {}).get("PREFECT_HOME") == env["PREFECT_HOME"]
    ]
    assert not left, left
