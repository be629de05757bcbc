"""Delivery at scale against a fair ceiling: `newsletter digest` and `newsletter send` for N
subscribers into an SMTP sink on loopback, and a raw aiosmtplib blast of pre-built messages
of the same size over the same number of connections into the same sink, in one run.

The sink is Postfix's C `smtp-sink` (Debian package postfix, /usr/sbin/smtp-sink) when it is
installed: it answers 250 and keeps nothing at ~0.1 ms of CPU per message, so it measures the
client. Otherwise an aiosmtpd sink in Python (several ms per message, so on a small machine it
competes with the sender for CPU); the output says which. Each size runs in a fresh process:

1. a temporary SQLite database (or `--database-url`) gets the 119 seed papers of
   tests/data/seed_papers.jsonl as one day's papers and N active subscribers with synthetic
   profiles (4-10 words of the papers' titles and 0-2 keywords), bulk-inserted;
2. **digest**: `newsletter digest` (lexical matching: the MiniLM model's cost is measured by
   benchmarks/matching_scale.py) as its own process;
3. **send**: `newsletter send` as its own process (start-up included): claim, render, MIME,
   SMTP, grouped outcomes;
4. **raw**: aiosmtplib's `sendmail` of N pre-built messages of the mean size just sent.

CPU is user+system time of the process (`newsletter` commands: from wait4; raw: this process
during the blast) and of the sink (from /proc), per message. "full" is N / (digest s + send s).

    .venv/bin/python benchmarks/send.py                  # 10k subscribers
    .venv/bin/python benchmarks/send.py --large          # 10k and 100k, with the RSS ratio
    .venv/bin/python benchmarks/send.py --subscribers 500 --dkim
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import resource
import shutil
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
SMTP_SINK = "/usr/sbin/smtp-sink"
AIOSMTPD_SINK = """
import sys
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


@dataclasses.dataclass
class Sink:
    process: subprocess.Popen[str]
    kind: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_sink(port: int, *, python: bool = False) -> Sink:
    """Postfix's smtp-sink when installed (and not `python`), else aiosmtpd."""
    if not python and Path(SMTP_SINK).exists():
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        # Its output would hold a caller's pipe open after a crash: it goes nowhere.
        process = subprocess.Popen(
            [SMTP_SINK, *user, f"127.0.0.1:{port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        _wait_for_port(port)
        return Sink(process, "Postfix smtp-sink (C)")
    process = subprocess.Popen(
        [sys.executable, "-c", AIOSMTPD_SINK, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return Sink(process, "aiosmtpd (Python)")


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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


@dataclasses.dataclass
class Run:
    seconds: float
    cpu: float
    peak_rss_mb: float
    output: str


def newsletter(*args: str, env: dict[str, str]) -> Run:
    """A `newsletter` command as its own process: wall time, CPU and peak RSS from wait4."""
    command = [str(Path(sys.executable).with_name("newsletter")), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"newsletter {' '.join(args)} failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(time.perf_counter() - started, cpu, usage.ru_maxrss / 1024, output)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_blast(port: int, *, count: int, size: int, connections: int) -> float:
    """Seconds to send `count` pre-built messages over `connections` reused connections."""
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
    return time.perf_counter() - started


def worker(subscribers: int, *, concurrency: int, database_url: str | None, dkim: bool,
           python_sink: bool) -> dict[str, object]:  # fmt: skip
    from newsletter.db import outbox
    from newsletter.db.engine import make_engine, session_factory

    port = free_port()
    sink = start_sink(port, python=python_sink)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        env = _environment(url, port, concurrency, tmp if dkim else None)
        seed(url, subscribers)
        digest = newsletter("digest", "--date", DAY.isoformat(), env=env)
        sink_before = sink.cpu_seconds()
        send = newsletter("send", env=env)
        sink_send = sink.cpu_seconds() - sink_before
        sessions = session_factory(make_engine(url))
        with sessions() as session:
            states = outbox.counts_by_state(session)
        size = _sample_size(url, env)
        cpu_before, sink_before = cpu_seconds(), sink.cpu_seconds()
        raw_s = asyncio.run(raw_blast(port, count=subscribers, size=size, connections=concurrency))
        raw_cpu, sink_raw = cpu_seconds() - cpu_before, sink.cpu_seconds() - sink_before
    sink.stop()
    sent = states.get("sent", 0)
    return {
        "subscribers": subscribers, "queued": sum(n for k, n in states.items() if k != "skipped"),
        "sent": sent, "states": states, "sink": sink.kind, "message_bytes": size,
        "digest_s": digest.seconds, "digest_cpu_ms": digest.cpu / subscribers * 1000,
        "send_s": send.seconds, "send_rate": sent / send.seconds,
        "send_cpu_ms": send.cpu / sent * 1000, "sink_send_cpu_ms": sink_send / sent * 1000,
        "full_rate": sent / (digest.seconds + send.seconds),
        "raw_rate": subscribers / raw_s, "raw_cpu_ms": raw_cpu / subscribers * 1000,
        "sink_raw_cpu_ms": sink_raw / subscribers * 1000,
        "ratio": sent / (digest.seconds + send.seconds) / (subscribers / raw_s),
        "send_ratio": sent / send.seconds / (subscribers / raw_s),
        "peak_rss_mb": max(digest.peak_rss_mb, send.peak_rss_mb),
    }  # fmt: skip


def _environment(url: str, port: int, concurrency: int, dkim_dir: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port), "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_CONCURRENCY": str(concurrency), "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_LOG_LEVEL": "WARNING", "NEWSLETTER_SMTP_MESSAGES_PER_CONNECTION": "1000000",
    }  # fmt: skip
    if dkim_dir is not None:
        key = Path(dkim_dir) / "dkim.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                       capture_output=True)  # fmt: skip
        env |= {"NEWSLETTER_DKIM_PRIVATE_KEY_FILE": str(key), "NEWSLETTER_DKIM_SELECTOR": "b"}
    return env


def _sample_size(url: str, env: dict[str, str]) -> int:
    """Mean size of 50 of the digests as composed for sending (the raw blast sends that)."""
    from sqlalchemy import select

    from newsletter.config import Settings
    from newsletter.db import outbox
    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.models import OutboxRow, SubscriberRow
    from newsletter.db.papers import papers_by_id
    from newsletter.delivery import wiring
    from newsletter.delivery.compose import queued_digest

    dkim = {"dkim_private_key_file": env["NEWSLETTER_DKIM_PRIVATE_KEY_FILE"],
            "dkim_selector": "b"} if "NEWSLETTER_DKIM_PRIVATE_KEY_FILE" in env else {}  # fmt: skip
    settings = Settings(_env_file=None, database_url=url, mail_from=env["NEWSLETTER_MAIL_FROM"],
                        **dkim)  # type: ignore[call-arg,arg-type]  # fmt: skip
    composer = wiring.composer(settings)
    with session_factory(make_engine(url))() as session:
        rows = session.execute(
            select(OutboxRow, SubscriberRow).join(SubscriberRow).where(OutboxRow.state == "sent")
            .limit(50)
        ).all()  # fmt: skip
        claimed = [outbox.ClaimedDigest.of(row, subscriber) for row, subscriber in rows]
        papers = papers_by_id(session, sorted({i for c in claimed for i in c.paper_ids}))
    now = datetime.now(UTC)
    sizes = [len(composer.compose(queued_digest(c, papers), message_id=c.message_id, now=now))
             for c in claimed]  # fmt: skip
    return sum(sizes) // max(1, len(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--large", action="store_true", help="also 100k subscribers")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--dkim", action="store_true", help="sign every message (2048-bit RSA)")
    parser.add_argument("--python-sink", action="store_true", help="aiosmtpd even if smtp-sink")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, concurrency=args.concurrency, database_url=args.database_url,
                        dkim=args.dkim, python_sink=args.python_sink)  # fmt: skip
        print("RESULT " + json.dumps(result))
        return
    print(f"load before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"smtp-sink: {shutil.which('smtp-sink') or Path(SMTP_SINK).exists()}")  # fmt: skip
    results = []
    for size in [args.subscribers, 100_000] if args.large else [args.subscribers]:
        command = [sys.executable, __file__, "--worker", str(size),
                   "--concurrency", str(args.concurrency)]  # fmt: skip
        command += ["--database-url", args.database_url] if args.database_url else []
        command += ["--dkim"] if args.dkim else []
        command += ["--python-sink"] if args.python_sink else []
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.split("RESULT ", 1)[1].splitlines()[0]))
        _print(results[-1])
    if len(results) == 2:
        ratio = results[1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        print(f"peak RSS at 100k / at {results[0]['subscribers']:,}: {ratio:.2f}x")
    print(f"load after: {os.getloadavg()[0]:.2f}")


def _print(r: dict[str, object]) -> None:
    v = {k: (round(x, 3) if isinstance(x, float) else x) for k, x in r.items()}
    print(
        f"{v['subscribers']:,} subscribers into {v['sink']} ({v['message_bytes']:,} B/msg):\n"
        f"  raw aiosmtplib: {v['raw_rate']:.0f} msg/s, {v['raw_cpu_ms']:.2f} ms CPU/msg "
        f"(sink {v['sink_raw_cpu_ms']:.2f})\n"
        f"  send only:      {v['send_rate']:.0f} msg/s, {v['send_cpu_ms']:.2f} ms CPU/msg "
        f"(sink {v['sink_send_cpu_ms']:.2f}) = {v['send_ratio']:.2f}x raw rate, "
        f"{r['send_cpu_ms'] / r['raw_cpu_ms']:.2f}x raw CPU\n"  # type: ignore[operator]
        f"  digest + send:  {v['full_rate']:.0f} msg/s = {v['ratio']:.2f}x raw; digest "
        f"{v['digest_s']:.1f} s, {v['digest_cpu_ms']:.2f} ms CPU/subscriber; "
        f"send {v['send_s']:.1f} s\n"
        f"  peak RSS {v['peak_rss_mb']:.0f} MB; outbox {v['states']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
