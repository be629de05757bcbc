"""Papers from a JSON Lines file reach the same day's digest: `fetch --source file:X.jsonl`,
then `digest`, then `send`, over real SMTP (the scripted server) on real SQLite."""

from __future__ import annotations

import json
import re
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.db.papers import list_papers
from tests.support.cli_support import invoke, ok, sessions_for
from tests.support.smtp_server import ScriptedSmtpServer

ABOUT_RETRIEVAL = (
    "We study retrieval augmented generation for question answering: a retriever finds "
    "passages and a reader model answers from them. Retrieval quality matters most."
)
PAPERS = [
    {"id": "10.1145/3292500.3330701", "title": "Dense retrieval for open-domain QA"},
    {"id": "https://openreview.net/forum?id=Hyg0vbWC-", "title": "Retrieval heads in readers"},
    {"title": "Retrieval augmented generation, revisited"},  # no id: a content id
    {"id": "ISBN 978-3-16-148410-0", "title": "A line with an id nobody can use"},
]
OTHERS = [  # what the subscriber does not want: the matcher needs something to tell apart
    {"id": f"s2:CorpusId:{n}", "title": title, "abstract": abstract}
    for n, (title, abstract) in enumerate([
        ("Protein folding with diffusion", "Diffusion models predict protein structures."),
        ("Sparse attention kernels", "Faster attention on long sequences with sparse kernels."),
        ("Robot grasping from video", "Robots learn to grasp objects from human videos."),
    ])
]  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, smtp_server: ScriptedSmtpServer) -> dict[str, str]:
    return {
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'files.db'}",
        "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_BASE_URL": "https://digest.example.org",
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_SMTP_HOST": smtp_server.host,
        "NEWSLETTER_SMTP_PORT": str(smtp_server.port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_TIMEZONE": "Pacific/Kiritimati",  # UTC+14: "today" is not UTC's today
        "NEWSLETTER_LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }


def subscribe(env: dict[str, str]) -> None:
    ok(
        env, "subscribe", "reader@example.org", "--confirmed", "--keyword", "retrieval",
        "--keyword", "question answering", "--interests", "retrieval augmented generation",
    )  # fmt: skip


def papers_file(tmp_path: Path, **extra: str) -> Path:
    path = tmp_path / "papers.jsonl"
    rows = [{"abstract": ABOUT_RETRIEVAL} | row | extra for row in PAPERS + OTHERS]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def delivered(server: ScriptedSmtpServer) -> EmailMessage:
    (received,) = server.accepted
    message = message_from_bytes(received.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_fetch_digest_send_delivers_the_files_papers_the_same_day(
    env: dict[str, str], tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    subscribe(env)
    fetched = invoke(env, "fetch", "--source", f"file:{papers_file(tmp_path)}")
    assert fetched.exit_code == 0, fetched.output
    assert "file:papers.jsonl: 6 new, 0 updated, 0 unchanged, 1 skipped" in fetched.stdout
    assert "line 4: id: not a usable id: 'ISBN 978-3-16-148410-0'" in fetched.stderr

    digest = ok(env, "digest")
    assert re.search(r": 6 candidate papers, 1 subscribers due; queued 1 digests", digest.stdout)
    sent = ok(env, "send")
    assert "sent 1, deferred 0, bounced 0, failed 0" in sent.stdout

    message = delivered(smtp_server)
    assert message["To"] == "reader@example.org"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert [row["title"] in text.get_content() for row in PAPERS + OTHERS] == [
        True, True, True, False, False, False, False,
    ]  # fmt: skip
    links = set(re.findall(r'href="(https://[^"]+)"', html.get_content()))
    assert "https://doi.org/10.1145/3292500.3330701" in links
    assert "https://openreview.net/forum?id=Hyg0vbWC-" in links
    assert not any("arxiv.org" in link or "huggingface.co" in link for link in links)


def test_fetch_date_names_the_day_of_undated_papers(
    env: dict[str, str], tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    subscribe(env)
    ok(env, "fetch", "--source", f"file:{papers_file(tmp_path)}", "--date", "2026-11-20")
    with sessions_for(env)() as session:
        assert {p.announced_on for p in list_papers(session)} == {date(2026, 11, 20)}
    assert "queued 1 digests" in ok(env, "digest", "--date", "2026-11-20").stdout
    ok(env, "send")
    assert "Dense retrieval for open-domain QA" in delivered(smtp_server).as_string()


def test_papers_keep_the_day_they_carry(
    env: dict[str, str], tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    subscribe(env)
    ok(env, "fetch", "--source", f"file:{papers_file(tmp_path, announced='2026-11-19')}")
    assert "queued 1 digests" in ok(env, "digest", "--date", "2026-11-19").stdout
    refused = invoke(env, "digest", "--date", "2026-11-20")
    assert refused.exit_code == 1
    assert "no papers stored for 2026-11-20" in refused.stderr
