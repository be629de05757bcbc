"""`newsletter` commands run as real processes against the scripted SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.smtp_server import ScriptedSmtpServer


def newsletter_process(
    command: str,
    *,
    database_url: str,
    server: ScriptedSmtpServer,
    cwd: Path,
    connections: int,
    **settings: str,
) -> subprocess.Popen[bytes]:
    """`newsletter COMMAND` sending to `server`; `settings` are extra NEWSLETTER_* values."""
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": database_url,
        "NEWSLETTER_SMTP_HOST": server.host,
        "NEWSLETTER_SMTP_PORT": str(server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_CONCURRENCY": str(connections),
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        **{f"NEWSLETTER_{name.upper()}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("newsletter")), command],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], bool], *, timeout: float, interval: float = 0.02) -> None:
    """Poll `condition`; for what the SMTP server sees, its `wait_until` wakes at once."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(interval)


def newsletter_command(*args: str, cwd: Path, **settings: str) -> subprocess.Popen[str]:
    """`newsletter ARGS` as a process, with NEWSLETTER_* `settings`; output as text, merged."""
    env = {
        **os.environ,
        **{f"NEWSLETTER_{name.upper()}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("newsletter")), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
