"""The digest stage with topics and per-topic models: `queue_digests` as the scheduler runs it,
on N readers, against today's readers of one topic without a model.

Each configuration in its own process, on a fresh SQLite file (or a fresh PostgreSQL database
with `--database-url`): 1,000 papers of benchmarks/matching_scale.py on one day, N readers
with profiles from its ProfileGenerator, the hashing stand-in embedder, the day's digests
queued for real (ranked, merged, written to the outbox). Configurations:

- `1 topic`: every reader one topic, no model (what every reader had before topics);
- `1 topic + model`: the same with a stored model per topic;
- `2 topics + models`: every reader two topics, each with its model (twice the ranker rows).

Models are 64 distinct ones fitted as benchmarks/learning_scale.py fits them, cycled over the
topics, stored as the database holds them. Reported: wall and CPU seconds of `queue_digests`
(embedding the papers included, the same in every configuration) and per reader.

    .venv/bin/python benchmarks/topics_queueing.py --readers 2000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from learning_scale import reader_models
from matching_scale import RESULT_MARK, HashingEmbedder, ProfileGenerator, bench_papers
from sqlalchemy import insert

from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.models import InterestProfileRow, SubscriberRow, TopicModelRow, new_token_key
from newsletter.db.papers import store_papers
from newsletter.matching.semantic import MemoryEmbeddingCache
from newsletter.pipeline.queueing import DigestOptions, queue_digests

DAY = date(2025, 8, 20)
NOW = datetime(2025, 8, 20, 6, tzinfo=UTC)
CONFIGURATIONS = {"1 topic": (1, False), "1 topic + model": (1, True),
                  "2 topics + models": (2, True)}  # fmt: skip
MAX_PAPERS = 10


def seed(url: str, readers: int, *, topics: int, models: bool) -> None:
    engine = make_engine(url)
    migrations.upgrade(engine)
    papers = [replace(p, announced_on=DAY) for p in bench_papers(seed=0)]
    blobs = reader_models(papers, HashingEmbedder(), MemoryEmbeddingCache(), seed=0)
    generator = ProfileGenerator(papers, seed=1)
    profiles = (profile for _, profile in generator.profiles(readers * topics))
    with session_factory(engine).begin() as session:
        store_papers(session, papers, now=NOW)
        session.execute(insert(SubscriberRow), [
            {"id": i, "email": f"reader{i}@example.org", "status": "active", "created_at": NOW,
             "token_key": new_token_key()}
            for i in range(1, readers + 1)
        ])  # fmt: skip
        rows = []
        for reader in range(1, readers + 1):
            for position in range(topics):
                profile = next(profiles)
                rows.append({
                    "id": (reader - 1) * topics + position + 1, "subscriber_id": reader,
                    "name": f"Topic {position + 1}", "position": position,
                    "description": profile.description, "keywords": list(profile.keywords),
                    "negative_keywords": list(profile.exclude),
                    "categories": list(profile.categories),
                    "category_mode": profile.category_mode.value,
                    "authors": list(profile.authors),
                })  # fmt: skip
        session.execute(insert(InterestProfileRow), rows)
        if models:
            session.execute(insert(TopicModelRow), [
                {"topic_id": row["id"], "model": blobs[row["id"] % len(blobs)], "examples": 30,
                 "fitted_at": NOW, "examples_changed_at": NOW}
                for row in rows
            ])  # fmt: skip
    engine.dispose()


def measure(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    counter = iter(range(10**9))
    options = DigestOptions(
        max_papers=MAX_PAPERS, quiet_day=False, new_message_id=lambda: f"<{next(counter)}@b>"
    )
    started, cpu = time.perf_counter(), time.process_time()
    report = queue_digests(
        sessions=sessions, day=DAY, options=options, embedder=HashingEmbedder(), now=NOW
    )
    result = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
              "queued": report.queued, "considered": report.considered}  # fmt: skip
    engine.dispose()
    return result


def worker(name: str, readers: int, database_url: str | None) -> dict[str, Any]:
    topics, models = CONFIGURATIONS[name]
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        seed(url, readers, topics=topics, models=models)
        return {"name": name, "readers": readers, **measure(url)}


def fresh_postgres(url: str, name: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--database-url", help="a PostgreSQL server (fresh databases are made)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, url = args.worker[0], args.worker[1] or None
        print(RESULT_MARK + json.dumps(worker(name, args.readers, url)), flush=True)
        return
    results = []
    for number, name in enumerate(CONFIGURATIONS):
        url = ""
        if args.database_url:
            url = fresh_postgres(args.database_url, f"topics_bench_{os.getpid()}_{number}")
        print(f"{name} x {args.readers:,} ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--readers", str(args.readers), "--worker", name, url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        line = next(x for x in done.stdout.splitlines() if x.startswith(RESULT_MARK))
        results.append(json.loads(line.removeprefix(RESULT_MARK)))
    where = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{args.readers:,} readers x 1,000 papers, {MAX_PAPERS} per digest, {where}\n")
    print("| readers' topics | seconds | CPU s | CPU ms/reader | queued | vs 1 topic (CPU) |")
    print("|---|--:|--:|--:|--:|--:|")
    base = results[0]["cpu"]
    for r in results:
        print(f"| {r['name']} | {r['seconds']:.1f} | {r['cpu']:.1f} "
              f"| {1000 * r['cpu'] / r['readers']:.2f} | {r['queued']:,} "
              f"| {r['cpu'] / base:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
