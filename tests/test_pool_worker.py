"""The process pool's worker set-up (arcloop.grid.prepare_pool_worker), in real spawned workers.

Each test runs a small driver script in a fresh interpreter whose spawned pool workers are set up
exactly as the benchmark's ProcessPoolTaskRunner sets them up (``initializer=prepare_pool_worker``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from arcloop.flows.benchmark import start_worker_template, task_runner

WORKER_JOBS = textwrap.dedent(
    '''
    import atexit
    import sys


    def thread_counts() -> dict:
        import torch
        from threadpoolctl import threadpool_info

        return {
            "torch": torch.get_num_threads(),
            "pools": {pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()},
        }


    class ReportsTeardown:
        def __del__(self) -> None:
            sys.stdout.write("TEARDOWN-RAN\\n")
            sys.stdout.flush()


    KEPT_UNTIL_TEARDOWN = []


    def drain(marker: str) -> None:
        """Stands for Prefect's and MLflow's exit-time drains: runs after the job, writes late."""
        open(marker, "w").write("exit handler ran")
        sys.stdout.write("UNFLUSHED-LINE\\n")  # stdout is a pipe: block-buffered, not written yet


    def loaded_modules() -> dict:
        return {name: name in sys.modules for name in ("torch._dynamo", "sympy")}


    def leave_traces(marker: str) -> int:
        atexit.register(drain, marker)
        KEPT_UNTIL_TEARDOWN.append(ReportsTeardown())  # collected only by interpreter teardown
        return 0
    '''
)

DRIVER = textwrap.dedent(
    """
    import json
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    from arcloop.grid import prepare_pool_worker
    import worker_jobs

    if __name__ == "__main__":
        job, marker = sys.argv[1], sys.argv[2]
        with ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=prepare_pool_worker,
            initargs=(None,),
        ) as pool:
            arguments = [marker] if job == "leave_traces" else []
            result = pool.submit(getattr(worker_jobs, job), *arguments).result()
        print("RESULT " + json.dumps(result), flush=True)
    """
)


def run_driver(tmp_path: Path, job: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "worker_jobs.py").write_text(WORKER_JOBS)
    (tmp_path / "driver.py").write_text(DRIVER)
    return subprocess.run(
        [sys.executable, "driver.py", job, str(tmp_path / "marker")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        # Buffered, as a user's shell gives it: unbuffered streams would hide a missing flush.
        env={key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"},
    )


def test_pool_worker_runs_every_numerical_library_on_one_thread(tmp_path: Path) -> None:
    """On 2 cores OpenBLAS and OpenMP default to 2 threads and torch to 2: all must read 1."""
    finished = run_driver(tmp_path, "thread_counts")
    assert finished.returncode == 0, finished.stderr
    counts = json.loads(finished.stdout.split("RESULT ", 1)[1])
    assert counts["torch"] == 1
    assert counts["pools"], "threadpoolctl found no BLAS/OpenMP pool to check"
    assert set(counts["pools"].values()) == {1}, counts


def test_pool_worker_exits_without_teardown_but_loses_nothing(tmp_path: Path) -> None:
    """The worker skips interpreter teardown (os._exit), yet exit handlers registered after its
    set-up (Prefect's and MLflow's drains are) run, and what they write is flushed (multiprocessing
    flushes the standard streams after the job, before exit handlers run, so only theirs is at risk)."""
    finished = run_driver(tmp_path, "leave_traces")
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "marker").read_text() == "exit handler ran"
    assert "UNFLUSHED-LINE" in finished.stdout
    assert "TEARDOWN-RAN" not in finished.stdout


def test_pool_worker_has_preloaded_what_a_first_campaign_imports(tmp_path: Path) -> None:
    finished = run_driver(tmp_path, "loaded_modules")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout.split("RESULT ", 1)[1]) == {"torch._dynamo": True, "sympy": True}


def test_processes_runner_starts_every_worker_on_entry_and_opens_the_store(tmp_path: Path) -> None:
    """Entering the runner starts both workers before any task is submitted, and a worker creates
    the tracking store the parent has not touched."""
    store = tmp_path / "mlruns.db"
    before = len(multiprocessing.active_children())
    with task_runner("processes", 2, tracking_uri=f"sqlite:///{store}"):
        assert len(multiprocessing.active_children()) - before == 2
        deadline = time.monotonic() + 240
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert store.exists()


@task(cache_policy=NO_CACHE, persist_result=False)
def children_of_this_process() -> int:
    return len(multiprocessing.active_children())


@flow
def count_children() -> list[int]:
    futures = [children_of_this_process.submit() for _ in range(2)]
    return [future.result() for future in futures]


@pytest.mark.usefixtures("prefect_harness")
def test_a_task_in_a_pool_worker_starts_no_workers_of_its_own() -> None:
    """Prefect enters a duplicate of the flow's task runner around every task run in a worker:
    that duplicate must not start processes."""
    assert count_children.with_options(task_runner=task_runner("processes", 1))() == [0, 0]


@task(cache_policy=NO_CACHE, persist_result=False)
def environment_and_parent() -> tuple[str | None, int]:
    return os.environ.get("ARCLOOP_POOL_PROBE"), os.getppid()


@flow
def probe_worker() -> tuple[str | None, int]:
    return environment_and_parent.submit().result()


@pytest.mark.usefixtures("prefect_harness")
def test_workers_fork_from_the_template_with_the_environment_of_the_pools_maker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker is forked from the template process, not spawned by this one, yet sees a variable
    set here after the template started (a cache folder a test or a script sets per run): Prefect's
    runner sends the parent's environment with each task, which the template design relies on."""
    start_worker_template()
    monkeypatch.setenv("ARCLOOP_POOL_PROBE", "set after the template started")
    value, parent = probe_worker.with_options(task_runner=task_runner("processes", 1))()
    assert value == "set after the template started"
    assert parent != os.getpid()


def test_worker_template_falls_back_to_spawn_without_a_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    from arcloop.grid import worker_template

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert worker_template(("json",)).get_start_method() == "spawn"
