"""The web app under a mixed load while the service sends: answer times, errors, and whether
every acknowledged write was kept. Bounded, loopback only.

Three processes, as a deployment has them: `newsletter serve` (the web app), `newsletter
send` (the sender, draining the digests of N subscribers into an aiosmtpd sink that answers
250 and keeps nothing), and this one, the clients: `--concurrency` of them issue
`--requests` requests in all, a mix of

- subscribe (POST /api/subscribe, a new address each time; the app answers 202 and stores
  the request after the answer),
- confirm (GET the confirmation page, POST its form, for a pending subscriber),
- preferences (GET the page, POST a changed keyword; 303),
- one-click unsubscribe (RFC 8058 POST, no cookie; 200),
- feedback (POST /api/feedback/<token>; 200),
- healthz (GET; 200).

Each write goes to a subscriber no other request touches, so afterwards the database says
whether it was kept. Reported: p50/p99 answer time and errors per kind (5xx and transport
errors), how much of the load ran while the sender was sending, and the invariants: no 5xx,
no acknowledged write lost (a 2xx/3xx answer whose change is not in the database once the
app is idle). SQLite by default (a temporary file, the sender in another process: the
write lock is shared across processes), PostgreSQL with `--database-url`.

    .venv/bin/python benchmarks/load.py                               # SQLite
    .venv/bin/python benchmarks/load.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/load.py --subscribers 30 --requests 60  # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from send import DAY, free_port, seed, start_sink  # noqa: E402

SECRET = "load-benchmark-secret-" + "x" * 24  # dev mode: any key; the clients sign links with it
WEIGHTS = {
    "subscribe": 3, "confirm": 2, "preferences": 2, "one-click": 2, "feedback": 2, "healthz": 1,
}  # fmt: skip
FEEDBACK_PAPER = "2508.13167"  # any arXiv id: feedback needs no stored paper
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Outcome:
    kind: str
    status: int  # 0: the request failed in transport
    seconds: float
    during_send: bool


@dataclass
class Plan:
    """Which subscriber each write goes to, and what it must leave in the database."""

    pending: list[int]
    active: list[int]
    acknowledged: dict[str, list[tuple[int | str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def environment(url: str, sink_port: int, web_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_BASE_URL": f"http://127.0.0.1:{web_port}",
        "NEWSLETTER_SECRET_KEY": SECRET,
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(sink_port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_MAIL_FROM": "Paper digest <digest@example.org>",
        "NEWSLETTER_EMBEDDING_MODEL": "",
        "NEWSLETTER_LOG_LEVEL": "WARNING",
        "NEWSLETTER_TRUSTED_PROXIES": "127.0.0.1",  # the clients' X-Forwarded-For counts
    }


def prepare(url: str, subscribers: int, pending: int) -> Plan:
    """N active subscribers with their digests queued, and `pending` unconfirmed ones."""
    from sqlalchemy import insert, select, text

    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.models import InterestProfileRow, SubscriberRow, new_token_key
    from newsletter.pipeline.queueing import DigestOptions, queue_digests

    seed(url, subscribers)
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        first = subscribers + 1
        session.execute(
            insert(SubscriberRow),
            [{"id": i, "email": f"pending{i}@example.org", "status": "pending", "created_at": now,
              "token_key": new_token_key()} for i in range(first, first + pending)],
        )  # fmt: skip
        session.execute(
            insert(InterestProfileRow),
            [{"subscriber_id": i, "keywords": ["agents"]} for i in range(first, first + pending)],
        )
    options = DigestOptions(
        max_papers=10, quiet_day=False, new_message_id=lambda: f"<{time.time_ns()}@example.org>"
    )
    queue_digests(sessions=sessions, day=DAY, options=options, embedder=None, now=now)
    with sessions.begin() as session:
        ids = session.scalars(select(SubscriberRow.id).order_by(SubscriberRow.id)).all()
        if engine.dialect.name == "postgresql":  # seeded with explicit ids: move the sequence on
            session.execute(
                text("SELECT setval(pg_get_serial_sequence('subscribers', 'id'), :last)"),
                {"last": max(ids)},
            )
    engine.dispose()
    return Plan(
        pending=[i for i in ids if i > subscribers], active=[i for i in ids if i <= subscribers]
    )


@dataclass
class Clients:
    """The requests of each kind, and what became of them. Every request comes through the
    "proxy" at 127.0.0.1 (NEWSLETTER_TRUSTED_PROXIES) for a client address of its own, as
    many readers behind a reverse proxy would: the per-IP limit is not what is measured."""

    base: str
    plan: Plan
    links: Any  # newsletter.mail.links.Links, signing with the server's key
    keys: dict[int, str]  # each subscriber's token key
    paper: str  # an id feedback can name
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    serial: int = 0

    def __post_init__(self) -> None:
        self.active = iter(self.plan.active)
        self.pending = iter(self.plan.pending)

    def token(self, kind: str, subscriber_id: int) -> str:
        from newsletter.mail.links import Recipient

        url = getattr(self.links, kind)(Recipient(subscriber_id, self.keys[subscriber_id]))
        return str(url).rsplit("/", 1)[1]

    def client_address(self) -> dict[str, str]:
        self.serial += 1
        n = self.serial
        return {"x-forwarded-for": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}

    async def one(self, web: httpx.AsyncClient, kind: str) -> None:
        started = time.perf_counter()
        during = self.sending.is_set()
        web.headers.update(self.client_address())
        try:
            status = await getattr(self, kind.replace("-", "_"))(web)
        except httpx.HTTPError:
            status = 0
        self.outcomes.append(Outcome(kind, status, time.perf_counter() - started, during))

    async def subscribe(self, web: httpx.AsyncClient) -> int:
        email = f"load{self.serial}@example.org"
        body = {"email": email, "keywords": ["agents"], "description": "tool use"}
        answer = await web.post(f"{self.base}/api/subscribe", json=body)
        if answer.status_code == 202:
            self.plan.acknowledged["subscribe"].append((email, "pending"))
        return answer.status_code

    async def confirm(self, web: httpx.AsyncClient) -> int:
        who = next(self.pending, None)
        if who is None:
            return await self.healthz(web)
        path = f"{self.base}/confirm/{self.token('confirm', who)}"
        page = await web.get(path)
        if page.status_code != 200:
            return page.status_code
        answer = await web.post(path, data={"csrf_token": _CSRF.findall(page.text)[0]})
        if answer.status_code == 200:
            self.plan.acknowledged["confirm"].append((who, "active"))
        return answer.status_code

    async def preferences(self, web: httpx.AsyncClient) -> int:
        who = next(self.active)
        path = f"{self.base}/preferences/{self.token('preferences', who)}"
        page = await web.get(path)
        if page.status_code != 200:
            return page.status_code
        keyword = f"topic{who}"
        form = {"keywords": keyword, "send_hour": "7", "frequency": "daily",
                "csrf_token": _CSRF.findall(page.text)[0]}  # fmt: skip
        answer = await web.post(path, data=form)
        if answer.status_code == 303:
            self.plan.acknowledged["preferences"].append((who, keyword))
        return answer.status_code

    async def one_click(self, web: httpx.AsyncClient) -> int:
        who = next(self.active)
        path = f"{self.base}/unsubscribe/{self.token('unsubscribe', who)}"
        async with httpx.AsyncClient(timeout=web.timeout, headers=web.headers) as provider:
            answer = await provider.post(path, data={"List-Unsubscribe": "One-Click"})
        if answer.status_code == 200:
            self.plan.acknowledged["one-click"].append((who, "unsubscribed"))
        return answer.status_code

    async def feedback(self, web: httpx.AsyncClient) -> int:
        who = next(self.active)
        path = f"{self.base}/api/feedback/{self.token('feedback', who)}"
        answer = await web.post(path, json={"paper": self.paper, "vote": "more"})
        if answer.status_code == 200:
            self.plan.acknowledged["feedback"].append((who, self.paper))
        return answer.status_code

    async def healthz(self, web: httpx.AsyncClient) -> int:
        return (await web.get(f"{self.base}/healthz")).status_code


async def drive(clients: Clients, *, requests: int, concurrency: int, seed_: int) -> None:
    rng = random.Random(seed_)
    kinds = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=requests)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)

    async def client() -> None:
        async with httpx.AsyncClient(timeout=120) as web:
            while not queue.empty():
                await clients.one(web, queue.get_nowait())

    await asyncio.gather(*(client() for _ in range(concurrency)))


def lost_writes(url: str, plan: Plan, *, wait: float) -> dict[str, int]:
    """Acknowledged writes not in the database; subscribe requests are stored after their
    answer, so those are given `wait` seconds to arrive."""
    from sqlalchemy import select

    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.models import SubscriberRow

    engine = make_engine(url)
    sessions = session_factory(engine)
    deadline = time.monotonic() + wait
    while True:
        with sessions() as session:
            rows = {r.email: r for r in session.scalars(select(SubscriberRow))}
            by_id = {r.id: r for r in rows.values()}
            lost = {
                "subscribe": sum(e not in rows for e, _ in plan.acknowledged["subscribe"]),
                "confirm": sum(by_id[i].status != s for i, s in plan.acknowledged["confirm"]),
                "one-click": sum(by_id[i].status != s for i, s in plan.acknowledged["one-click"]),
                "preferences": sum(
                    by_id[i].profile is None or list(by_id[i].profile.keywords) != [k]
                    for i, k in plan.acknowledged["preferences"]
                ),
                "feedback": sum(
                    by_id[i].profile is None or p not in by_id[i].profile.seed_papers
                    for i, p in plan.acknowledged["feedback"]
                ),
            }
        if not any(lost.values()) or time.monotonic() > deadline:
            engine.dispose()
            return lost
        time.sleep(0.5)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for kind in [*WEIGHTS, "all"]:
        mine = [o for o in outcomes if kind in ("all", o.kind)]
        times = [o.seconds * 1000 for o in mine]
        table[kind] = {
            "requests": len(mine),
            "p50_ms": statistics.median(times) if times else 0.0,
            "p99_ms": percentile(times, 0.99),
            "5xx": sum(o.status >= 500 for o in mine),
            "transport_errors": sum(o.status == 0 for o in mine),
        }
    return table


def run(url: str, *, subscribers: int, requests: int, concurrency: int) -> dict[str, object]:
    from sqlalchemy import select

    from newsletter.db.engine import make_engine, session_factory
    from newsletter.db.models import SubscriberRow
    from newsletter.mail.links import Links
    from newsletter.mail.tokens import Tokens

    sink_port, web_port = free_port(), free_port()
    sink = start_sink(sink_port)
    # Enough subscribers that every write has its own (a share of them for each kind).
    plan = prepare(url, max(subscribers, requests), pending=requests // 2 + 10)
    random.Random(7).shuffle(plan.active)
    env = environment(url, sink_port, web_port)
    newsletter = str(Path(sys.executable).with_name("newsletter"))
    server = subprocess.Popen(
        [newsletter, "serve", "--port", str(web_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{web_port}"
        wait_until_up(base)
        engine = make_engine(url)
        with session_factory(engine)() as session:
            keys = dict(session.execute(select(SubscriberRow.id, SubscriberRow.token_key)).all())
        engine.dispose()
        clients = Clients(base, plan, Links(base, Tokens(SECRET)), keys, FEEDBACK_PAPER)
        result = asyncio.run(
            load_during_send(clients, newsletter, env, requests=requests, concurrency=concurrency)
        )
        lost = lost_writes(url, plan, wait=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
        sink.stop()
    table = summary(clients.outcomes)
    acknowledged = {k: len(v) for k, v in plan.acknowledged.items()}
    return {
        **result,
        "requests": table["all"]["requests"],
        "by_kind": table,
        "acknowledged": acknowledged,
        "lost": lost,
        "invariants": {
            "no_5xx": table["all"]["5xx"] == 0 and table["all"]["transport_errors"] == 0,
            "no_lost_writes": not any(lost.values()),
        },
    }


async def load_during_send(
    clients: Clients, newsletter: str, env: dict[str, str], *, requests: int, concurrency: int
) -> dict[str, object]:
    """The sender starts first; the load runs while it sends (the share of requests
    answered during the send is reported)."""
    started = time.perf_counter()
    sender = await asyncio.create_subprocess_exec(
        newsletter, "send", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    clients.sending.set()

    async def sending() -> float:
        await sender.wait()
        clients.sending.clear()
        return time.perf_counter() - started

    send_task = asyncio.create_task(sending())
    load_started = time.perf_counter()
    await drive(clients, requests=requests, concurrency=concurrency, seed_=14)
    load_s = time.perf_counter() - load_started
    send_s = await send_task
    during = sum(o.during_send for o in clients.outcomes) / max(1, len(clients.outcomes))
    return {"load_s": load_s, "send_s": send_s, "sender_exit": sender.returncode,
            "share_during_send": during}  # fmt: skip


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("newsletter serve did not start")


def outcomes_sent(url: str) -> dict[str, int]:
    from newsletter.db import outbox
    from newsletter.db.engine import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as session:
        counts = {str(k): v for k, v in outbox.counts_by_state(session).items()}
    engine.dispose()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000, help="digests being sent")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL server (a fresh database is made)")
    args = parser.parse_args()
    if args.database_url:
        from scale import drop_database, fresh_database

        url = fresh_database(args.database_url)
        try:
            result = run(url, subscribers=args.subscribers, requests=args.requests,
                         concurrency=args.concurrency)  # fmt: skip
            result["outbox"] = outcomes_sent(url)
        finally:
            drop_database(args.database_url, url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/load.db"
            result = run(url, subscribers=args.subscribers, requests=args.requests,
                         concurrency=args.concurrency)  # fmt: skip
            result["outbox"] = outcomes_sent(url)
    report(result)
    print("RESULT " + json.dumps(result))


def report(result: dict[str, object]) -> None:
    print(
        f"{result['requests']} requests in {result['load_s']:.1f} s while sending "
        f"({result['share_during_send']:.0%} of them during the send, which took "
        f"{result['send_s']:.1f} s; outbox {result['outbox']})"
    )
    print(f"{'kind':<12} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>5} {'failed':>6}")
    for kind, row in result["by_kind"].items():  # type: ignore[attr-defined]
        print(
            f"{kind:<12} {row['requests']:>8} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['5xx']:>5} {row['transport_errors']:>6}"
        )
    print(f"acknowledged writes {result['acknowledged']}, lost {result['lost']}")
    print(f"invariants {result['invariants']}")


if __name__ == "__main__":
    main()
