"""Delivery at scale: the full `digest` (match + queue) and `send` for N subscribers into an
aiosmtpd sink on loopback, against a raw aiosmtplib blast of equally sized messages into the
same sink in the same run.

Each size runs in a fresh process (its peak RSS is its own). In that process:

1. a sink is started in a subprocess: aiosmtpd answering 250 to everything and keeping
   nothing (so the sink's own cost is the same for both senders);
2. a temporary SQLite database (or `--database-url`) gets the 119 seed papers of
   tests/data/seed_papers.jsonl as one day's papers and N active subscribers with
   synthetic profiles (a description of 4-10 words drawn from the papers' titles and 0-2
   keywords), bulk-inserted;
3. **digest**: `queue_digests` with lexical matching (no embedder: the MiniLM model's cost
   is measured by benchmarks/matching_scale.py) queues one digest per subscriber;
4. **send**: `send_all` drains the outbox over `--concurrency` SMTP connections: claim,
   render (Jinja2 + css-inline, per message), MIME, optional DKIM, SMTP, one committed
   outcome per message;
5. **raw**: aiosmtplib sends N pre-built messages of the mean size of those just sent over
   the same number of connections (no database, no rendering): the ceiling.

"ratio" is (N / (digest s + send s)) / raw rate; "send ratio" leaves the matching out.
CPU per message is this process's user+system time during the send divided by N.

    .venv/bin/python benchmarks/send.py                  # 10k subscribers
    .venv/bin/python benchmarks/send.py --large          # 10k and 100k, with the RSS ratio
    .venv/bin/python benchmarks/send.py --subscribers 500 --dkim
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = date(2026, 11, 27)
SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Null:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok"
c = Controller(Null(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="sink",
               data_size_limit=0)
c.start()
print("ready", flush=True)
sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    assert sink.stdout.readline().strip() == "ready"
    return sink


def seed(database_url: str, subscribers: int) -> None:
    from sqlalchemy import insert

    from newsletter.db import migrations
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.models import InterestProfileRow, SubscriberRow, new_token_key
    from newsletter.db.papers import store_papers
    from newsletter.sources.files import FileSource

    engine = make_engine(database_url)
    migrations.upgrade(engine)
    papers = FileSource(ROOT / "tests/data/seed_papers.jsonl", 10**8).fetch(day=None).papers
    papers = [dataclasses.replace(p, announced_on=DAY) for p in papers]
    words = sorted({w.lower() for p in papers for w in p.title.split() if len(w) > 4})
    rng = random.Random(7)
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        store_papers(session, papers, now=now)
        for start in range(0, subscribers, 5000):
            ids = range(start + 1, min(start + 5000, subscribers) + 1)
            session.execute(
                insert(SubscriberRow),
                [
                    {"id": i, "email": f"reader{i}@example.org", "status": "active",
                     "created_at": now, "token_key": new_token_key()}
                    for i in ids
                ],
            )  # fmt: skip
            session.execute(
                insert(InterestProfileRow),
                [
                    {"subscriber_id": i,
                     "description": " ".join(rng.sample(words, rng.randint(4, 10))),
                     "keywords": rng.sample(words, rng.randint(0, 2))}
                    for i in ids
                ],
            )  # fmt: skip
    engine.dispose()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_blast(port: int, *, count: int, size: int, connections: int) -> float:
    """Messages per second for pre-built messages over `connections` reused connections."""
    import aiosmtplib

    head = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: raw\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    body = head + line * max(1, (size - len(head)) // len(line))
    pending = iter(range(count))

    async def one_connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        for n in pending:
            await smtp.sendmail("digest@example.org", [f"reader{n}@example.org"], body)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return count / (time.perf_counter() - started)


def worker(
    subscribers: int, *, concurrency: int, database_url: str | None, dkim: bool
) -> dict[str, float]:
    from newsletter.config import Settings
    from newsletter.db import outbox
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.delivery import wiring
    from newsletter.pipeline.queueing import DigestOptions, queue_digests

    port = free_port()
    sink = start_sink(port)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        extra: dict[str, object] = {}
        if dkim:
            key = Path(tmp) / "dkim.pem"
            subprocess.run(
                ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
            )
            extra = {"dkim_private_key_file": key, "dkim_selector": "bench"}
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
            smtp_concurrency=concurrency, mail_from="Paper digest <digest@example.org>",
            **extra,
        )  # fmt: skip
        seed(url, subscribers)
        sessions = session_factory(make_engine(url))
        started = time.perf_counter()
        options = DigestOptions(
            max_papers=settings.digest_max_papers, quiet_day=False,
            new_message_id=wiring.mail_identity(settings).new_message_id,
        )  # fmt: skip
        report = queue_digests(
            sessions=sessions, day=DAY, options=options, embedder=None, now=datetime.now(UTC)
        )
        digest_s = time.perf_counter() - started
        cpu_before, started = cpu_seconds(), time.perf_counter()
        sent = asyncio.run(
            wiring.send_all(settings, sessions=sessions, clock=lambda: datetime.now(UTC))
        )
        send_s = time.perf_counter() - started
        cpu_per_message = (cpu_seconds() - cpu_before) / max(1, sent.counts["sent"])
        sample = _sample_size(settings, sessions)
        with sessions() as session:
            states = outbox.counts_by_state(session)
        raw_rate = asyncio.run(
            raw_blast(port, count=subscribers, size=sample, connections=concurrency)
        )
    sink.communicate("")
    full_rate = sent.counts["sent"] / (digest_s + send_s)
    return {
        "subscribers": subscribers,
        "queued": report.queued,
        "sent": sent.counts["sent"],
        "states": states,
        "digest_s": digest_s,
        "send_s": send_s,
        "send_rate": sent.counts["sent"] / send_s,
        "full_rate": full_rate,
        "raw_rate": raw_rate,
        "ratio": full_rate / raw_rate,
        "send_ratio": sent.counts["sent"] / send_s / raw_rate,
        "cpu_ms_per_message": cpu_per_message * 1000,
        "message_bytes": sample,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # type: ignore[return-value]


def _sample_size(settings: object, sessions: object) -> int:
    """Mean size of 50 digests as composed for sending (the raw blast sends that size)."""
    from newsletter.db import outbox
    from newsletter.db.papers import papers_by_id
    from newsletter.delivery import wiring
    from newsletter.delivery.compose import queued_digest

    composer = wiring.composer(settings)  # type: ignore[arg-type]
    with sessions() as session:  # type: ignore[operator]
        claimed = [
            outbox.ClaimedDigest(
                outbox_id=row.id, subscriber_id=row.subscriber_id, email="x@example.org",
                token_key="k", subscriber_status="active", digest_date=row.digest_date,
                message_id=row.message_id, content=row.content, attempts=0,
                created_at=row.created_at,
            )
            for row in session.query(outbox.OutboxRow).filter_by(state="sent").limit(50)
        ]  # fmt: skip
        papers = papers_by_id(session, sorted({i for c in claimed for i in c.paper_ids}))
    sizes = [
        len(
            composer.compose(
                queued_digest(c, papers), message_id=c.message_id, now=datetime.now(UTC)
            )
        )
        for c in claimed
    ]
    return sum(sizes) // max(1, len(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="also 100k subscribers")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--dkim", action="store_true", help="sign every message (2048-bit RSA)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(
            args.worker, concurrency=args.concurrency, database_url=args.database_url,
            dkim=args.dkim,
        )  # fmt: skip
        print("RESULT " + json.dumps(result))
        return
    sizes = [args.subscribers, 100_000] if args.large else [args.subscribers]
    results = []
    for size in sizes:
        command = [sys.executable, __file__, "--worker", str(size),
                   "--concurrency", str(args.concurrency)]  # fmt: skip
        if args.database_url:
            command += ["--database-url", args.database_url]
        if args.dkim:
            command.append("--dkim")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.split("RESULT ", 1)[1].splitlines()[0]))
        _print(results[-1])
    if len(results) == 2:
        print(f"peak RSS {results[1]['peak_rss_mb']:.0f} MB at 100k / "
              f"{results[0]['peak_rss_mb']:.0f} MB at {sizes[0]:,} = "
              f"{results[1]['peak_rss_mb'] / results[0]['peak_rss_mb']:.2f}x")  # fmt: skip


def _print(r: dict[str, float]) -> None:
    print(
        f"{int(r['subscribers']):,} subscribers: digest {r['digest_s']:.1f} s, "
        f"send {r['send_s']:.1f} s ({r['send_rate']:.0f} msg/s, "
        f"{r['cpu_ms_per_message']:.2f} ms CPU/msg, {r['message_bytes'] / 1000:.0f} kB/msg); "
        f"full pipeline {r['full_rate']:.0f} msg/s vs raw aiosmtplib {r['raw_rate']:.0f} msg/s: "
        f"ratio {r['ratio']:.2f} (send only {r['send_ratio']:.2f}); "
        f"peak RSS {r['peak_rss_mb']:.0f} MB; outbox {r['states']}"
    )


if __name__ == "__main__":
    main()
