"""Scale-out on PostgreSQL: N subscribers' digests sent by 1, 2 and 4 `newsletter worker`
processes sharing the outbox (FOR UPDATE SKIP LOCKED) into an aiosmtpd sink on loopback.

For each worker count: the outbox is emptied, every subscriber's digest is queued again
(`dispatch`, timed apart), then the workers are started and the clock runs until every
row is `sent`. "CPU/msg" is the workers' own user+system time (RUSAGE_CHILDREN, after they
exit) divided by the messages; the sink runs in its own process and is not counted. Each
worker uses `--connections` SMTP connections.

    .venv/bin/python benchmarks/scale.py --database-url postgresql+psycopg://...   # 100k
    .venv/bin/python benchmarks/scale.py --database-url ... --subscribers 20000 --workers 1 2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from send import DAY, free_port, seed, start_sink  # noqa: E402

from newsletter.db import outbox  # noqa: E402
from newsletter.db.engine import make_engine, session_factory  # noqa: E402
from newsletter.db.models import OutboxRow, SentPaperRow, SubscriberRow  # noqa: E402
from newsletter.pipeline.dispatch import dispatch  # noqa: E402
from newsletter.pipeline.queueing import DigestOptions  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh_database(url: str) -> str:
    """A new database next to the one named, so runs never touch real data."""
    from sqlalchemy import create_engine, make_url, text

    name = f"newsletter_scale_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def run(url: str, *, workers: int, connections: int, port: int) -> dict[str, float]:
    from sqlalchemy import delete, update

    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        session.execute(delete(SentPaperRow))
        session.execute(delete(OutboxRow))
        # Subscribed the day before, so every digest of DAY is due at noon.
        session.execute(
            update(SubscriberRow).values(confirmed_at=datetime(2026, 11, 26, tzinfo=UTC))
        )
    started = time.perf_counter()
    report = dispatch(
        sessions=sessions,
        now=datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12),
        default_timezone="UTC",
        options=DigestOptions(max_papers=10, quiet_day=False,
                              new_message_id=lambda: f"<{time.time_ns()}@example.org>"),
        embedder=None,
    )  # fmt: skip
    queue_s = time.perf_counter() - started
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_CONCURRENCY": str(connections),
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_WORKER_POLL_SECONDS": "0.2",
        "NEWSLETTER_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("newsletter")), "worker"]
    cpu_before, started = children_cpu(), time.perf_counter()
    processes = [subprocess.Popen(command, env=env) for _ in range(workers)]
    while True:
        with sessions() as session:
            if outbox.counts_by_state(session).get("sent", 0) >= report.total:
                break
        time.sleep(0.2)
    send_s = time.perf_counter() - started
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()
    cpu = children_cpu() - cpu_before
    return {
        "workers": workers,
        "messages": report.total,
        "queue_s": queue_s,
        "send_s": send_s,
        "rate": report.total / send_s,
        "cpu_ms_per_message": cpu / report.total * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("NEWSLETTER_TEST_POSTGRES_URL"))
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections per worker")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server (workers share it)")
    url = fresh_database(args.database_url)
    seed(url, args.subscribers)
    port = free_port()
    sink = start_sink(port)
    try:
        for count in args.workers:
            r = run(url, workers=count, connections=args.connections, port=port)
            print(
                f"{int(r['workers'])} worker(s): {int(r['messages']):,} messages in "
                f"{r['send_s']:.1f} s = {r['rate']:.0f} msg/s, "
                f"{r['cpu_ms_per_message']:.2f} ms worker CPU/msg "
                f"(queueing took {r['queue_s']:.1f} s)",
                flush=True,
            )
    finally:
        sink.communicate("")
        drop_database(args.database_url, url)


if __name__ == "__main__":
    main()
