import json

from arcloop.cli import main


def test_data_info_json(capsys):
    assert main(["data", "info", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_alloys"] == 1375
    assert summary["n_single_phase"] == 712
    assert len(summary["elements"]) == 30
    assert sum(summary["by_n_elements"].values()) == 1375


def test_data_info_text(capsys):
    assert main(["data", "info"]) == 0
    assert "1375 alloys: 712 single phase" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-command"]) == 2


def test_help_imports_none_of_the_heavy_libraries():
    """`arcloop --help` answers from the command tree alone: pandas, torch, Prefect and MLflow are
    imported by the commands that use them, after parsing (so help is instant on a cold start)."""
    import subprocess
    import sys

    heavy = ("pandas", "torch", "prefect", "mlflow", "sklearn", "pyro")
    code = (
        "import sys\nfrom arcloop.cli import main\nmain(['--help'])\n"
        f"print([name for name in {heavy!r} if name in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
