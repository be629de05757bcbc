"""Scale-out on PostgreSQL: N subscribers' digests queued by 1 and 2 `newsletter digest
--part` processes, then sent by 1, 2 and 4 `newsletter worker` processes sharing the outbox
(FOR UPDATE SKIP LOCKED), into the sink of benchmarks/send.py (Postfix's C smtp-sink when
installed, else aiosmtpd; the output says which).

Queueing: for each process count the outbox is emptied and the day queued again; "CPU/sub"
is the processes' user+system time (wait4) over the subscribers. Sending: every row is put
back to `queued` (the same digests), the workers start and the clock runs until every row is
`sent`; "CPU/msg" is the workers' own CPU time over the messages. Each worker uses
`--connections` SMTP connections. The sink runs in its own process and is not counted.

    .venv/bin/python benchmarks/scale.py --database-url postgresql+psycopg://...   # 100k
    .venv/bin/python benchmarks/scale.py --database-url ... --subscribers 20000 --workers 1 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from send import DAY, free_port, seed, start_sink  # noqa: E402

from newsletter.db import outbox  # noqa: E402
from newsletter.db.engine import make_engine, session_factory  # noqa: E402
from newsletter.db.models import OutboxRow, SentPaperRow  # noqa: E402


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


def environment(url: str, port: int, connections: int) -> dict[str, str]:
    return {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port), "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_CONCURRENCY": str(connections), "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_WORKER_POLL_SECONDS": "0.2", "NEWSLETTER_LOG_LEVEL": "WARNING",
        "NEWSLETTER_SMTP_MESSAGES_PER_CONNECTION": "1000000",
    }  # fmt: skip


def started(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("newsletter")), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finished(process: subprocess.Popen[bytes]) -> float:
    """Wait for `process`; its user+system CPU seconds."""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_utime + usage.ru_stime


def queueing(url: str, env: dict[str, str], *, processes: int, subscribers: int) -> str:
    from sqlalchemy import delete

    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        session.execute(delete(SentPaperRow))
        session.execute(delete(OutboxRow))
    begin = time.perf_counter()
    parts = [[] if processes == 1 else ["--part", f"{k}/{processes}"] for k in range(processes)]
    running = [started(["digest", "--date", DAY.isoformat(), *part], env) for part in parts]
    cpu = sum(finished(process) for process in running)
    seconds = time.perf_counter() - begin
    with sessions() as session:
        queued = outbox.counts_by_state(session).get("queued", 0)
    return (
        f"queueing, {processes} process(es): {queued:,} digests in {seconds:.1f} s = "
        f"{queued / seconds:.0f}/s, {cpu / subscribers * 1000:.2f} ms CPU/subscriber"
    )


def sending(url: str, env: dict[str, str], *, workers: int) -> str:
    from sqlalchemy import delete, update

    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        session.execute(delete(SentPaperRow))
        session.execute(
            update(OutboxRow).values(state="queued", attempts=0, sent_at=None, last_reply=None)
        )
        total = outbox.counts_by_state(session)["queued"]
    begin = time.perf_counter()
    running = [started(["worker"], env) for _ in range(workers)]
    while True:
        with sessions() as session:
            if outbox.counts_by_state(session).get("sent", 0) >= total:
                break
        time.sleep(0.2)
    seconds = time.perf_counter() - begin
    for process in running:
        process.terminate()
    cpu = sum(finished(process) for process in running)
    return (
        f"{workers} worker(s): {total:,} messages in {seconds:.1f} s = {total / seconds:.0f} "
        f"msg/s, {cpu / total * 1000:.2f} ms worker CPU/msg"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("NEWSLETTER_TEST_POSTGRES_URL"))
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--queueing", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections per worker")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server (workers share it)")
    url = fresh_database(args.database_url)
    seed(url, args.subscribers)
    port = free_port()
    sink = start_sink(port)
    env = environment(url, port, args.connections)
    print(f"sink: {sink.kind}; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    try:
        for processes in args.queueing:
            print(queueing(url, env, processes=processes, subscribers=args.subscribers), flush=True)
        for count in args.workers:
            print(sending(url, env, workers=count), flush=True)
    finally:
        sink.stop()
        drop_database(args.database_url, url)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
