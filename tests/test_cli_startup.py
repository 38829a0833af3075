"""The package entry points: --version, --help, `python -m drumkit`, and a --help that imports nothing heavy."""

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

import drumkit
from drumkit import cli

HEAVY = ("pandas", "pyarrow", "sklearn", "flask", "numpy", "scipy", "openai", "dask", "distributed", "fsspec", "s3fs",
         "prometheus_client", "waitress")


def test_version_in_process():
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"drumkit {drumkit.__version__}"


def test_help_lists_score_and_its_drum_flags():
    result = CliRunner().invoke(cli.app, ["--help"])
    assert result.exit_code == 0 and "score" in result.stdout
    result = CliRunner().invoke(cli.app, ["score", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in ("--code-dir", "--input", "--output", "--target-type", "--positive-class-label", "--negative-class-label",
                 "--class-labels", "--class-labels-file", "--sparse-column-file", "--content-type", "--query",
                 "--runtime-params-file", "--show-stacktrace"):
        assert flag in result.stdout, flag


def test_no_arguments_prints_help_and_fails():
    result = CliRunner().invoke(cli.app, [])
    assert result.exit_code != 0 and "score" in result.output


def test_expand_nargs_turns_drum_lists_into_repeated_options():
    argv = ["score", "--class-labels", "a", "b", "-1", "--input", "x.csv", "--class-labels=c"]
    assert cli.expand_nargs(argv) == ["score", "--class-labels", "a", "--class-labels", "b", "--class-labels", "-1",
                                      "--input", "x.csv", "--class-labels=c"]


PROBE = """
import json, sys
sys.argv = ["drumkit"] + sys.argv[1:]
from drumkit.cli import main
code = None
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy})
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}))
"""


def probe(*args):
    """Run the CLI in a fresh interpreter and report which heavy modules it imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("CODE_DIR", "TARGET_TYPE")}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *args], capture_output=True, env=env,
                          timeout=60)
    report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return proc, report


def test_help_imports_no_heavy_module():
    for args in (["--help"], ["score", "--help"], ["--version"]):
        proc, report = probe(*args)
        assert report["code"] in (0, None), proc.stderr
        assert report["heavy"] == [], (args, report["heavy"])


def test_python_dash_m_drumkit():
    env = {k: v for k, v in os.environ.items() if k not in ("CODE_DIR", "TARGET_TYPE")}
    proc = subprocess.run([sys.executable, "-m", "drumkit", "--version"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout.decode().strip() == f"drumkit {drumkit.__version__}"
    proc = subprocess.run([sys.executable, "-m", "drumkit", "score", "--help"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0 and b"--code-dir" in proc.stdout


def test_public_api_imports():
    from drumkit import CustomHTTPError, RuntimeParameters

    assert CustomHTTPError("x", 418).status_code == 418
    assert callable(RuntimeParameters.get)
