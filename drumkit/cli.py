"""The `drumkit` command line: registers one thin module per command."""

from __future__ import annotations

import os
import sys
from typing import Annotated

# Plain click help: typer's rich help costs ~150 ms of imports, and `drumkit --help` must stay instant.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer

from drumkit import __version__

app = typer.Typer(
    name="drumkit",
    help="Run a DRUM code dir as it is: score files, serve the DRUM prediction API, validate, benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"drumkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
) -> None:
    """Run a DRUM code dir as it is: score files, serve the DRUM prediction API, validate, benchmark."""


def _register() -> None:
    from drumkit.commands import score, server

    app.command("score", help=score.HELP)(score.score)
    app.command("server", help=server.HELP)(server.server)

    from drumkit.commands import validate

    app.command("validate", help=validate.HELP)(validate.validate)
    app.command("validation", help=f"{validate.HELP} (DRUM's name for validate)", hidden=True)(
        validate.validate
    )

    from drumkit.commands import new

    app.add_typer(new.app, name="new", help=new.HELP)

    from drumkit.commands import perf

    app.command("perf", help=perf.HELP)(perf.perf)
    app.command("perf-test", help=f"{perf.HELP} (DRUM's name for perf)", hidden=True)(perf.perf)


def expand_nargs(argv: list[str], flags: tuple[str, ...] = ("--class-labels",)) -> list[str]:
    """Turn DRUM's `--class-labels A B C` (argparse nargs='+') into repeated options click understands."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in flags:
            values = []
            i += 1
            while i < len(argv) and (not argv[i].startswith("-") or _is_number(argv[i])):
                values.append(argv[i])
                i += 1
            out.extend([arg] if not values else [x for v in values for x in (arg, v)])
            continue
        out.append(arg)
        i += 1
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = expand_nargs(list(sys.argv[1:] if argv is None else argv))
    app(args=args, prog_name="drumkit")
