"""The `newsletter` command end to end: real SQLite, real HTTP on loopback, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter.cli.app import app
from tests.conftest import read_data
from tests.support.cli_support import error_line
from tests.support.recorded_server import RecordedServer, Reply, recorded_server

LISTING = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
FEED_ERROR = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>http://rss.arxiv.org/atom/cs.XX</id>
<title>Feed error for query</title><updated>2025-08-20T04:00:00Z</updated></feed>"""


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def stored_ids(env: dict[str, str]) -> list[str]:
    result = invoke(env, "papers", "list", "--format", "json", "--limit", "1000")
    assert result.exit_code == 0, result.output
    return sorted(row["id"] for row in json.loads(result.stdout))


def test_fetch_listing_file_twice(env: dict[str, str], data_dir: Path) -> None:
    first = invoke(env, "fetch", "--source", f"file:{data_dir / LISTING}")
    assert first.exit_code == 0, first.output
    assert "86 new, 0 updated, 0 unchanged, 0 skipped" in first.stdout
    again = invoke(env, "fetch", "--source", f"file:{data_dir / LISTING}")
    assert "0 new, 0 updated, 86 unchanged, 0 skipped" in again.stdout

    listed = json.loads(invoke(env, "papers", "list", "--format", "json").stdout)
    assert len(listed) == 86
    assert {row["announce_type"] for row in listed} == {"new", "cross"}
    assert all(row["authors"] and row["categories"] for row in listed)
    on_day = invoke(env, "papers", "list", "--date", "2025-08-20", "--format", "json")
    assert len(json.loads(on_day.stdout)) == 86
    assert (
        json.loads(invoke(env, "papers", "list", "--date", "2025-08-21", "--format", "json").stdout)
        == []
    )


def test_fetch_seed_papers_file(env: dict[str, str], data_dir: Path) -> None:
    result = invoke(env, "fetch", "--source", f"file:{data_dir / 'seed_papers.jsonl'}")
    assert result.exit_code == 0, result.output
    assert "119 new" in result.stdout
    assert len(stored_ids(env)) == 119


def test_papers_table(env: dict[str, str], data_dir: Path) -> None:
    invoke(env, "fetch", "--source", f"file:{data_dir / 'arxiv_api_atom_2026_newformat.xml'}")
    result = invoke(env, "papers", "list")
    assert result.exit_code == 0
    assert "2104.12255" in result.stdout
    assert "1 papers" in result.stdout


def serve_arxiv(server_routes: dict[str, list[Reply]], env: dict[str, str], url: str) -> None:
    env["NEWSLETTER_ARXIV_LISTING_URL"] = f"{url}/atom"
    env["NEWSLETTER_ARXIV_API_URL"] = f"{url}/api/query"
    env["NEWSLETTER_HF_API_URL"] = f"{url}/api/daily_papers"


def test_fetch_arxiv_over_http_completes_with_api(env: dict[str, str]) -> None:
    routes = {
        "/atom/cs.AI+cs.CL": [Reply(body=read_data(LISTING))],
        "/api/query": [Reply(body=read_data("arxiv_api_atom_2026_newformat.xml"))],
    }
    with recorded_server(routes) as server:
        serve_arxiv(routes, env, server.url)
        result = invoke(
            env, "fetch", "--source", "arxiv", "--category", "cs.AI", "--category", "cs.CL"
        )
    assert result.exit_code == 0, result.output
    assert "arxiv: 86 new" in result.stdout
    api_calls = [params for path, params in server.requests if path == "/api/query"]
    assert len(api_calls) == 1  # 86 ids fit one batch of 100
    assert api_calls[0]["id_list"][0].split(",")[:2] == ["2508.13167", "2508.13171"]
    assert api_calls[0]["max_results"] == ["86"]


def test_fetch_hugging_face_over_http(env: dict[str, str]) -> None:
    routes = {
        "/api/daily_papers": [
            Reply(body=read_data("hf_daily_papers.json"), content_type="application/json")
        ]
    }
    with recorded_server(routes) as server:
        serve_arxiv(routes, env, server.url)
        result = invoke(env, "fetch", "--source", "hf", "--date", "2024-10-25")
    assert result.exit_code == 0, result.output
    assert "hf: 2 new" in result.stdout
    assert server.requests[0][1] == {"date": ["2024-10-25"], "p": ["0"], "limit": ["100"]}
    assert stored_ids(env) == ["2410.16251", "2410.17243"]


def fetch_failing(env: dict[str, str], reply: Reply, *extra: str) -> tuple[Result, RecordedServer]:
    with recorded_server({"/atom/cs.AI": [reply]}) as server:
        serve_arxiv({}, env, server.url)
        env["NEWSLETTER_ARXIV_API_ENRICH"] = "false"
        return invoke(env, "fetch", "--source", "arxiv", "--category", "cs.AI", *extra), server


@pytest.mark.parametrize(
    ("reply", "extra", "message"),
    [
        (Reply(body=FEED_ERROR), (), "Feed error for query"),
        (Reply(status=503), (), "failed after 1 attempts: HTTP 503"),
        (Reply(status=404), (), "answered HTTP 404"),
        (Reply(body=b""), (), "empty response"),
        (Reply(body=b"<html><body>maintenance</body></html>"), (), "not an arXiv listing"),
        (Reply(body=read_data(LISTING)), ("--date", "2025-08-21"), "only its latest announcement"),
    ],
)
def test_failed_fetch_exits_non_zero_and_changes_nothing(
    env: dict[str, str], data_dir: Path, reply: Reply, extra: tuple[str, ...], message: str
) -> None:
    invoke(env, "fetch", "--source", f"file:{data_dir / 'seed_papers.jsonl'}")
    before = stored_ids(env)
    result, _ = fetch_failing(env, reply, *extra)
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert message in error_lines[0]
    assert stored_ids(env) == before


def test_a_feed_whose_every_entry_is_broken_has_failed(env: dict[str, str]) -> None:
    """A truncated download: "0 new, 1 skipped" with exit 0 would never reach alerting."""
    listing = read_data(LISTING)
    truncated = listing[: listing.index(b"<entry>") + 1200]
    result, _ = fetch_failing(env, Reply(body=truncated))
    assert result.exit_code == 1
    assert error_line(result) == ("error: every entry of arxiv was skipped (1): nothing was stored")
    assert "  skipped " in result.stderr  # and why
    assert stored_ids(env) == []


def test_a_file_whose_every_line_is_broken_has_failed(env: dict[str, str], tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text('{"abstract": "no title"}\n{"title": "cut off in the mid')
    result = invoke(env, "fetch", "--source", f"file:{papers}")
    assert result.exit_code == 1
    assert error_line(result) == (
        "error: every entry of file:papers.jsonl was skipped (2): nothing was stored"
    )
    assert f"skipped {papers}, line 1: title: Field required" in result.stderr
    # One good line is enough: the rest are skipped and reported, the fetch succeeds.
    papers.write_text('{"abstract": "no title"}\n{"title": "Fine", "abstract": "Fine."}')
    assert (
        "1 new, 0 updated, 0 unchanged, 1 skipped"
        in invoke(env, "fetch", "--source", f"file:{papers}").stdout
    )


def test_oversized_response_is_refused(env: dict[str, str]) -> None:
    env["NEWSLETTER_HTTP_MAX_RESPONSE_BYTES"] = "100000"
    result, _ = fetch_failing(env, Reply(body=read_data(LISTING)))
    assert result.exit_code == 1
    assert "refused (limit 100000)" in result.stderr
    assert stored_ids(env) == []


def test_oversized_file_is_refused_without_reading(env: dict[str, str], tmp_path: Path) -> None:
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.truncate(50 * 1024 * 1024)
    result = invoke(env, "fetch", "--source", f"file:{huge}")
    assert result.exit_code == 1
    assert "52428800 bytes refused" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fetch", "--date", "20-08-2025"), "--date must be YYYY-MM-DD"),
        (("fetch", "--source", "rss"), "unknown source 'rss'"),
        (("fetch", "--source", "file:/nonexistent/papers.jsonl"), "No such file"),
    ],
)
def test_usage_errors(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    result = invoke(env, *args)
    assert result.exit_code != 0
    assert message in result.stderr


def test_production_without_secret_refuses_to_start(env: dict[str, str]) -> None:
    env["NEWSLETTER_ENV"] = "production"
    result = invoke(env, "papers", "list")
    assert result.exit_code == 2
    assert "NEWSLETTER_SECRET_KEY must be set" in result.stderr


def test_db_upgrade_and_downgrade(env: dict[str, str], tmp_path: Path) -> None:
    env["NEWSLETTER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"  # not the template
    assert invoke(env, "db", "upgrade").exit_code == 0
    assert invoke(env, "db", "downgrade").exit_code == 0
    assert invoke(env, "db", "upgrade").exit_code == 0
