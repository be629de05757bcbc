"""`newsletter run` and `serve` as real processes: a busy port stops them before anything
starts, with one line naming it; `--port` moves the web app and, in dev, the mailed links."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import newsletter_command, wait_for

HOST = "127.0.0.1"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on for the whole test."""
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        yield taken.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def settings(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "database_url": f"sqlite:///{tmp_path / 'service.db'}",
        "mail_sink_dir": str(tmp_path / "mail"),
        "mail_sink_port": str(free_port()),
        "embedding_model": "",
        # No network here: the first fetch must fail fast, not wait on DNS.
        "arxiv_listing_url": "http://127.0.0.1:9/atom",
        "hf_api_url": "http://127.0.0.1:9/api/daily_papers",
        "http_retries": "0",
        **extra,
    }


def finished(process: subprocess.Popen[str]) -> tuple[int, list[str]]:
    output, _ = process.communicate(timeout=60)
    return process.returncode, [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_busy_web_port_stops_the_command_before_anything_starts(
    tmp_path: Path, busy_port: int, command: str
) -> None:
    process = newsletter_command(command, "--port", str(busy_port), cwd=tmp_path,
                                 **settings(tmp_path))  # fmt: skip
    code, lines = finished(process)
    assert code == 1
    assert lines == [
        f"error: port {busy_port} on {HOST} is busy (the web app needs it): free it, or choose "
        "another with --port or NEWSLETTER_PORT"
    ]
    assert not (tmp_path / "service.db").exists()  # not even migrated: nothing half-running


def test_a_busy_mail_sink_port_stops_run_before_anything_starts(
    tmp_path: Path, busy_port: int
) -> None:
    process = newsletter_command(
        "run", "--port", str(free_port()), cwd=tmp_path,
        **settings(tmp_path, mail_sink_port=str(busy_port)),
    )  # fmt: skip
    code, lines = finished(process)
    assert code == 1
    assert lines == [
        f"error: port {busy_port} on {HOST} is busy (the development mail sink needs it): free "
        "it, or set NEWSLETTER_MAIL_SINK_PORT"
    ]
    assert not (tmp_path / "service.db").exists()


def test_one_port_option_moves_the_web_app_and_the_dev_links(tmp_path: Path) -> None:
    port = free_port()
    process = newsletter_command("run", "--port", str(port), cwd=tmp_path, **settings(tmp_path))
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                return False

        wait_for(healthy, timeout=60)
    finally:
        process.terminate()
    _, lines = finished(process)
    (sink_line,) = [line for line in lines if "development mail sink on" in line]
    assert f"shown at http://localhost:{port}/dev/mail" in sink_line
