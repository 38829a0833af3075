"""`drumkit new model DIR`: start a code dir from a template that runs as generated."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from drumkit.commands.report import error_console, escape, reported

HELP = "Start a new model folder from a template."
MODEL_HELP = (
    "Create DIR (which must not exist) from a template: python (default), sklearn, unstructured or chat."
)
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
RENDERED_SUFFIXES = {".md", ".yaml", ".yml"}
SAMPLES = {
    "python": "sample.csv",
    "sklearn": "sample.csv",
    "unstructured": "sample.txt",
    "chat": "sample.csv",
}

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)


class Template(str, Enum):
    """The shipped templates."""

    python = "python"
    sklearn = "sklearn"
    unstructured = "unstructured"
    chat = "chat"


@app.command("model", help=MODEL_HELP)
def model(
    directory: Annotated[
        Path | None, typer.Argument(help="The folder to create.", show_default=False)
    ] = None,
    code_dir: Annotated[
        Path | None, typer.Option("--code-dir", "-cd", help="DRUM's spelling of DIR.")
    ] = None,
    template: Annotated[
        str,
        typer.Option(
            "--template", "-t", help=f"Which template to start from: {', '.join(t.value for t in Template)}."
        ),
    ] = "python",
    language: Annotated[str, typer.Option("--language", help="Only python is generated.")] = "python",
) -> None:
    """Create DIR from a template."""
    with reported():
        from drumkit.errors import UsageError

        if language.lower() != "python":
            raise UsageError(f"drumkit generates Python models only; --language {language} is not supported")
        if directory is not None and code_dir is not None and directory != code_dir:
            raise UsageError(f"Give the folder once: DIR is {directory} but --code-dir is {code_dir}")
        target = directory or code_dir
        if target is None:
            raise UsageError("Missing the folder to create: drumkit new model DIR")
        if template not in {t.value for t in Template}:
            raise UsageError(
                f"Unknown template '{template}'; choose one of {', '.join(t.value for t in Template)}"
            )
        command = " ".join(
            ["drumkit new model", str(target)]
            + ([] if template == Template.python else ["--template", template])
        )
        files = create_model_dir(target, template, command)
    console = error_console()
    console.print(
        f"Created {escape(str(target))} from the '{template}' template: "
        f"{', '.join(sorted(p.name for p in files))}"
    )
    console.print("Next: " + escape(next_steps(target, template)), soft_wrap=True)


def next_steps(target: Path, template: str) -> str:
    """The shell line that trains (sklearn), scores and validates the new model, runnable as printed here."""
    python, drumkit = _runnable("python", sys.executable), _drumkit_command()
    steps = [f"cd {shlex.quote(str(target))}"]
    if template == Template.sklearn:
        steps.append(f"{python} train.py")
    steps += [f"{drumkit} score --code-dir . --input {SAMPLES[template]}", f"{drumkit} validate ."]
    return " && ".join(steps)


def _drumkit_command() -> str:
    """`drumkit` when the shell finds this one; else its script beside this Python; else `python -m drumkit`."""
    script = Path(sys.executable).with_name("drumkit")
    if script.is_file():
        return _runnable("drumkit", str(script))
    return f"{_runnable('python', sys.executable)} -m drumkit"


def _runnable(name: str, path: str) -> str:
    """`name` if the shell's PATH finds exactly `path`; else `path` itself (absolute: the steps `cd` first)."""
    found = shutil.which(name)
    try:
        if found and os.path.samefile(found, path):
            return name
    except OSError:
        pass
    return shlex.quote(os.path.abspath(path))


def create_model_dir(target: Path, template: str, command: str) -> list[Path]:
    """Copy a template into `target` (which must not exist) in one step: all files or none."""
    from drumkit.errors import UsageError

    source = TEMPLATES_DIR / template
    if not source.is_dir():
        raise UsageError(
            f"Unknown template '{template}'; choose one of {', '.join(t.value for t in Template)}"
        )
    if target.exists() or target.is_symlink():
        raise UsageError(f"The path {target} already exists! Please provide a non existing path!")
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    values = {"{{model_name}}": target.resolve().name, "{{command}}": command, "{{date}}": time.ctime()}
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        for path in sorted(source.rglob("*")):
            if "__pycache__" in path.parts or path.suffix == ".pyc" or not path.is_file():
                continue
            dest = staging / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix in RENDERED_SUFFIXES:
                text = path.read_text(encoding="utf-8")
                for key, value in values.items():
                    text = text.replace(key, value)
                dest.write_text(text, encoding="utf-8")
            else:
                shutil.copyfile(path, dest)
        os.chmod(staging, 0o777 & ~_umask())
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(p for p in target.rglob("*") if p.is_file())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
