"""`newsletter --help` starts fast (loads none of the heavy libraries) and reads plainly.

The time itself is measured by benchmarks/cli_startup.py (figures in the README); what can
fail here is its cause: a module imported at the top of the command line that pulls in
pydantic, SQLAlchemy, numpy or torch for every command.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from newsletter.cli.app import app

# Typer itself converts a command's parameters with pydantic, so only the app's own help is
# checked for it; pydantic-settings (our settings) must wait for a command to run.
HEAVY = (
    "pydantic_settings", "sqlalchemy", "alembic", "numpy", "scipy", "torch",
    "sentence_transformers", "fastapi", "uvicorn", "httpx", "lxml", "aiosmtplib", "aiosmtpd",
    "jinja2", "apscheduler", "email_validator",
)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "heavy"),
    [(["--help"], (*HEAVY, "pydantic")), (["subscribers", "--help"], HEAVY),
     (["fetch", "--help"], HEAVY), (["subscribe", "--help"], HEAVY)],
)  # fmt: skip
def test_help_loads_no_heavy_library(args: list[str], heavy: tuple[str, ...]) -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from newsletter.cli.app import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for info in group.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        found.append((*prefix, name.replace("_", "-")))
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        assert sub.name
        found += _commands(sub.typer_instance, (*prefix, sub.name))
    return found


PLACEHOLDER = re.compile(r"<(bool|str|int|float|list\[[^\]]*\]|Path|[a-z_]+)>|\{[a-z_]+\}")


@pytest.mark.parametrize("command", _commands(app), ids=" ".join)
def test_help_has_no_type_placeholders(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert PLACEHOLDER.findall(result.output) == []
    assert "Usage: " in result.output


def test_help_shows_what_to_type() -> None:
    output = CliRunner().invoke(app, ["subscribe", "--help"], env={"COLUMNS": "120"}).output
    assert "Usage: root subscribe [OPTIONS] EMAIL" in output
    assert re.search(r"--keyword\s+TEXT", output)
    assert re.search(r"--category-mode\s+filter\|boost", output)
    assert re.search(r"--send-hour\s+INTEGER", output)


def test_the_command_list_gives_one_line_per_command() -> None:
    """A docstring's own line breaks once broke the list mid-sentence ("the scheduler (fetch,")."""
    output = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "250"}).output
    commands = output.split("Commands", 1)[1].splitlines()[1:-1]
    names = [line.strip("│ ").split(" ", 1)[0] for line in commands]
    assert names[:3] == ["fetch", "rank", "digest"]
    assert "" not in names  # no continuation lines
