"""Ingestion throughput: parse an arXiv listing of N entries and store it, twice.

Builds a listing of N entries by repeating the recorded 86-entry cs.AI feed under new
ids, then times parse, first store (all new) and second store (all unchanged) on SQLite
(or on the URL given with --database-url), with peak Python memory from tracemalloc.

    .venv/bin/python benchmarks/ingest.py [--entries 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from newsletter.db import migrations
from newsletter.db.engine import make_engine, session_factory
from newsletter.db.papers import store_papers
from newsletter.sources.arxiv_listing import parse_listing

LISTING = Path(__file__).resolve().parents[1] / "tests/data/arxiv_listing_atom_cs.AI_2025-08-20.xml"


def synthetic_listing(entries: int) -> bytes:
    text = LISTING.read_text()
    head, rest = text.split("<entry>", 1)
    body = "<entry>" + rest.rsplit("</feed>", 1)[0]
    blocks = re.findall(r"<entry>.*?</entry>", body, flags=re.S)
    out = []
    for n in range(entries):
        block = blocks[n % len(blocks)]
        new_id = f"2508.{n:05d}"
        out.append(re.sub(r"2508\.\d{5}", new_id, block))
    return (head + "\n".join(out) + "\n</feed>\n").encode()


def timed(label: str, action, results: dict[str, float]):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = action()
    results[label] = time.perf_counter() - started
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    data = synthetic_listing(args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrations.upgrade(engine)
        sessions = session_factory(engine)
        results: dict[str, float] = {}
        papers = timed("parse", lambda: parse_listing(data).papers, results)
        now = datetime.now(UTC)
        for label in ("store (new)", "store (unchanged)"):
            with sessions.begin() as session:
                timed(label, lambda s=session: store_papers(s, papers, now=now), results)
        # Measured apart: tracemalloc slows the code it watches several times over.
        tracemalloc.start()
        with sessions.begin() as session:
            store_papers(session, parse_listing(data).papers, now=now)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        engine.dispose()
    print(f"{args.entries} entries, {len(data) / 1e6:.1f} MB of XML, {engine.dialect.name}")
    for label, seconds in results.items():
        print(f"  {label:<18} {seconds:7.3f} s  {args.entries / seconds:9.0f} papers/s")
    print(f"  peak Python memory (parse + store) {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
