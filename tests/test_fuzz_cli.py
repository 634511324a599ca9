"""Fuzzing the command line in-process (``arcloop.cli.main``): configs, arguments and files made by
hypothesis. Every input must end in a status (0, 1, 2) with at most one ``error:`` line, never a
traceback. A few hundred examples in the default suite, thousands in the slow one.

Commands that would start real work on a valid input are given an anchor that fails after every
check of the input: a tracking store in a folder that does not exist (on the command line, or
appended to the file), a model file that is not there. So a valid input costs milliseconds, and an
invalid one shows its own error first. Each case runs in its own folder, which must hold no store
afterwards (a case that slipped its anchor would have started a real run there).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcloop.cli import main

NO_STORE = "sqlite:////nonexistent-arcloop-folder/mlruns.db"
KEYS = [
    "seed", "iterations", "batch_size", "model", "candidates", "policy", "surrogate", "oracle",
    "scenario", "target", "oracle_calls", "tracking", "state_dir", "name", "dataset", "datasets",
    "methods", "policies", "oracles", "scenarios", "seeds", "campaign", "runner", "max_workers",
    "source", "n_candidates", "params", "latent_dim", "hidden", "n_heads", "learning_rate", "refit",
    "kind", "n_initial", "min_elements", "novelty", "property", "goal", "top_fraction", "above",
    "equals", "exclude", "fraction", "family_share", "path", "inputs", "properties", "timeout_seconds",
    "retries", "label", "kappa", "wrappers", "levels", "checkpoints",
]  # fmt: skip
NAMES = ["greedy", "random", "ei", "lcb", "forest", "gp", "ssvae", "rules", "lookup", "pool", "latent",
         "crossed-barrel", "hea", "autoam", "maximize", "Fe", "Co"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NAMES),
    st.text(max_size=30),
    st.sampled_from(["1e308", "-0", "٣", "Fe١٢Ni", "../../etc", "x" * 300]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)
configs = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def as_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


SPECIAL_FILES = [
    b"",
    b"\xff\xfe not utf-8",
    b"seed: 1\nseed: 2\n",
    b"a: " + b"[" * 600 + b"]" * 600,
    b"model:\n  a: &a [1,1,1,1,1,1,1,1,1]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    b"  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    b"a: !!python/object/apply:os.system ['true']\n",
    b"- a\n- b\n",
    b"model: {latent_dim: -2}\n",
    b"oracle_calls: {timeout_seconds: 1e308}\n",
    b"name: " + b"x" * 200_000 + b"\n",
]
files = st.one_of(
    configs.map(lambda data: as_yaml(data).encode()),
    st.sampled_from(SPECIAL_FILES),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
)
numbers = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.floats().map(str),
    st.sampled_from(["-1", "0", "70000", "1e308", "nan", "abc", "", "٣"]),
)
formulas = st.one_of(st.sampled_from(["Fe14Ni16Cr22Co14Al22Cu8", "Fe١٢Ni", "Xx5", "", "Fe-1Ni", "FeNi" * 50]),
                     st.text(max_size=20))  # fmt: skip


@st.composite
def invocations(draw: st.DrawFn) -> tuple[list[str], bytes | None]:
    """An argument list (``{file}`` stands for the drawn file's path) and the file's bytes."""
    kind = draw(st.sampled_from(["campaign", "benchmark", "resume", "ui", "flip", "data", "list", "study"]))
    content = draw(files)
    if kind == "campaign":
        extra = draw(st.lists(st.sampled_from(["--iterations", "--batch-size", "--seed"]), max_size=2))
        args = ["campaign", "--config", "{file}", "--tracking-uri", NO_STORE, "--state-dir", "{dir}/state"]
        for option in extra:
            args += [option, draw(numbers)]
        if draw(st.booleans()):
            args += ["--dataset", draw(st.sampled_from(["crossed-barrel", "nope", "{file}"]))]
        return args, content
    if kind == "benchmark":  # no --tracking-uri option: the anchor goes into the file
        config = {**draw(configs), "tracking": {"uri": NO_STORE}, "output_dir": "{dir}/out"}
        return ["benchmark", "--config", "{file}"], as_yaml(config).encode()
    if kind == "resume":  # the file is the folder's config.yaml, with the anchor appended
        return ["resume", "{dir}"], content + f"\ntracking: {{uri: '{NO_STORE}'}}\n".encode()
    if kind == "ui":
        return ["ui", "--port", draw(numbers), "--tracking-uri", NO_STORE], None
    if kind == "flip":
        args = ["design", "flip", draw(formulas), "--model", "{dir}/missing.pt"]
        for option in draw(
            st.lists(st.sampled_from(["--seed", "--cutoff", "--max-steps", "--target"]), max_size=2)
        ):
            args += [option, draw(numbers)]
        return args, None
    if kind == "data":
        return ["data", "info", draw(st.sampled_from(["{file}", "crossed-barrel", "nope", ""]))], content
    if kind == "study":
        return ["study", "--config", "{file}", "--report-only", "--results", "{dir}/no-results"], content
    return [draw(st.sampled_from(["policies", "oracles", "surrogates", "data"])), "list"], None


def run_one(folder: Path, args: list[str], content: bytes | None, capfd: pytest.CaptureFixture[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("config.yaml" if args[0] == "resume" else "input.yaml")
    if content is not None:
        path.write_bytes(content.replace(b"{dir}", str(folder).encode()))
    argv = [arg.replace("{file}", str(path)).replace("{dir}", str(folder)) for arg in args]
    capfd.readouterr()
    here = os.getcwd()
    os.chdir(folder)  # a default store or state folder would land here, and be seen
    try:
        status = main(argv)
    finally:
        os.chdir(here)
    err = capfd.readouterr().err
    assert not (folder / "mlruns.db").exists() and not (folder / "arcloop-state").exists(), argv
    assert "Traceback" not in err, (argv, err[-3000:])
    assert status in (0, 1, 2), (argv, status, err[-3000:])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1, (argv, err[-3000:])
    assert all(len(line) < 1000 for line in errors), (argv, errors)


def fuzz(n: int) -> Any:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
        database=None,
    )


@fuzz(300)
@given(invocation=invocations())
def test_the_cli_answers_300_fuzzed_inputs_without_a_traceback(tmp_path_factory, capfd, invocation) -> None:
    run_one(tmp_path_factory.mktemp("fuzz"), *invocation, capfd)


@pytest.mark.slow
@fuzz(2000)
@given(invocation=invocations())
def test_the_cli_answers_2000_fuzzed_inputs_without_a_traceback(tmp_path_factory, capfd, invocation) -> None:
    run_one(tmp_path_factory.mktemp("fuzz"), *invocation, capfd)


def test_the_special_files_give_one_named_line(workdir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Each hand-made attack file is refused in one line saying what is wrong with it."""
    expected = {
        1: "not UTF-8",
        2: "given twice",
        3: "nested more than",
        4: "aliases expanded",
        5: "YAML tag",
        6: "mapping of settings",
        7: "latent_dim",
        8: "timeout_seconds",
        9: "characters",
    }
    for index, words in expected.items():
        folder = workdir / str(index)
        folder.mkdir()
        (folder / "c.yaml").write_bytes(SPECIAL_FILES[index])
        capfd.readouterr()
        args = ["--config", str(folder / "c.yaml"), "--state-dir", str(folder / "s")]
        args += ["--tracking-uri", NO_STORE]
        assert main(["campaign", *args]) == 2
        err = capfd.readouterr().err
        assert words in err and err.count("\n") == 1 and len(err) < 400, (index, err)
        assert not (folder / "s").exists()  # refused before anything was created


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0, 1e308])
def test_a_number_out_of_range_is_one_line(
    tmp_path: Path, value: float, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "c.yaml").write_text(as_yaml({"oracle_calls": {"timeout_seconds": value}}))
    args = ["--config", str(tmp_path / "c.yaml"), "--state-dir", str(tmp_path / "s")]
    args += ["--tracking-uri", NO_STORE]
    assert main(["campaign", *args]) == 2
    assert "oracle_calls.timeout_seconds" in capfd.readouterr().err


@pytest.mark.parametrize(
    ("section", "words"), [("null", "does not exist"), ("5", "tracking: expected a section")]
)
def test_an_option_into_a_section_that_is_not_one_is_one_line(
    tmp_path: Path, section: str, words: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """`--tracking-uri` sets tracking.uri: a file saying `tracking: null` gets the section made (and
    the unreachable store named), `tracking: 5` is one line naming the section. (Found by the fuzz.)"""
    (tmp_path / "c.yaml").write_text(f"tracking: {section}\n")
    args = ["--config", str(tmp_path / "c.yaml"), "--state-dir", str(tmp_path / "s")]
    assert main(["campaign", *args, "--tracking-uri", NO_STORE]) == 2
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and words in errors[0] and "Traceback" not in err, err
