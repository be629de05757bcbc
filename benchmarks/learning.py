"""Per-reader learning measured with simulated readers: nDCG@10 and included-set precision
after 0, 5, 10 and 20 votes for learning off, the ranker's own vote mechanism (votes as liked
and disliked papers), the reader's model, and both together.

Sets, starts and the digest-and-vote protocol: see learning_sets.py (readers and their taste),
learning_setup.py (the prior, starts) and learning_sim.py (days, digests, votes, systems).
Every setting is global. `--sweep` runs a grid of model settings and chooses what ships (the
vote mechanism alone, the model alone or both, with the model's settings) by
leave-one-interest-out (a CSFCube query paper's facets are held out together): each held-out
interest is scored under the candidate that is best on all the others (mean nDCG@10 gain over
learning off after 5, 10 and 20 votes, both starts, the two sets weighing equally). The
first-digest experiments (a library instead of a written interest; ratings of chosen papers)
and the refit timing are in learning_firstday.py; the 100,000-reader figure in
learning_scale.py.

    .venv/bin/python benchmarks/learning.py --embedding-cache F.npz [--sweep] [--per-interest]
    .venv/bin/python benchmarks/learning.py --quick --embedder hashing   # smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from learning_firstday import first_digest_report, refit_timing_report
from learning_sets import (
    FileEmbeddingCache,
    LazyMiniLM,
    Reader,
    csfcube_folder,
    csfcube_readers,
    dev_readers,
)
from learning_setup import Builder, base_rate, liked_start
from learning_sim import CHECKPOINTS, SYSTEMS, Setup, simulate
from ranking import FileMemo

from newsletter.domain import InterestProfile
from newsletter.matching.learning.model import LearningSettings
from newsletter.matching.semantic import (
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    paper_vectors,
)

CHOSEN = LearningSettings()  # the defaults, which the sweep below chose
SWEEP = [
    LearningSettings(weight_penalty=w, unlabelled_weight=u, bias_penalty=b, prior_scale_penalty=b)
    for w in (0.01, 0.03, 0.1, 0.3, 1.0)
    for u in (0.0, 0.1)
    for b in (float("inf"), 1.0)
]
Row = dict[str, object]
Key = tuple[str, str, str]  # set, start, reader


@dataclass(frozen=True)
class Context:
    builder: Builder
    readers: dict[str, list[Reader]]
    seeds: list[int]


def setups(ctx: Context) -> list[Setup]:
    made = []
    for readers in ctx.readers.values():
        for reader in readers:
            for seed in ctx.seeds:
                made.append(ctx.builder.setup(reader, "interest", seed, profile=reader.interest))
                liked = liked_start(reader, seed)
                if liked is not None:
                    profile = InterestProfile(seed_papers=tuple(p.id for p in liked))
                    made.append(ctx.builder.setup(reader, "liked", seed, profile=profile,
                                                  liked=liked))  # fmt: skip
    return made


def run(all_setups: list[Setup], settings: Sequence[LearningSettings]) -> list[Row]:
    rows: list[Row] = []
    for number, setup in enumerate(all_setups):
        for votes, system, scores in simulate(setup, settings):
            rows.append(
                {
                    "set": setup.reader.set_name, "start": setup.start,
                    "reader": setup.reader.reader_id, "group": setup.reader.group,
                    "seed": setup.seed, "votes": votes, "system": system,
                    "ndcg": scores.ndcg, "included": scores.included,
                    "relevant": scores.relevant_included,
                }
            )  # fmt: skip
        if number % 20 == 19:
            print(f"  {number + 1}/{len(all_setups)} readers", file=sys.stderr, flush=True)
    return rows


def per_reader(rows: Iterable[Row], system: str, votes: int) -> dict[Key, float]:
    """(set, start, reader) -> nDCG@10 averaged over the seeds."""
    found: dict[Key, list[float]] = defaultdict(list)
    for r in rows:
        if r["system"] == system and r["votes"] == votes:
            found[(str(r["set"]), str(r["start"]), str(r["reader"]))].append(float(r["ndcg"]))  # type: ignore[arg-type]
    return {key: float(np.mean(values)) for key, values in found.items()}


def gains(rows: list[Row], system: str) -> dict[Key, float]:
    """Per reader: the selection criterion, mean nDCG@10 gain over 5, 10 and 20 votes."""
    by_n = [(per_reader(rows, system, n), per_reader(rows, "off", n)) for n in CHECKPOINTS[1:]]
    keys = by_n[0][1].keys()
    return {k: float(np.mean([mine[k] - off[k] for mine, off in by_n])) for k in keys}


def criterion(gain: dict[Key, float], groups: dict[str, str], leave: str) -> float:
    """Mean gain over the readers outside group `leave`, each set weighing the same."""
    by_set: dict[str, list[float]] = defaultdict(list)
    for (set_name, _, reader), value in gain.items():
        if groups[reader] != leave:
            by_set[set_name].append(value)
    return float(np.mean([np.mean(v) for v in by_set.values()]))


def summary(rows: list[Row], title: str, systems: Sequence[str] = SYSTEMS) -> str:
    names = [s for s in systems if any(r["system"] == s for r in rows)]
    learners = [s for s in names if s != "off"]
    head = " | ".join(f"nDCG {s}" for s in names) + " | " + " | ".join(f"prec {s}" for s in names)
    worst = " | ".join(f"worst {s}" for s in learners)
    lines = [f"**{title}**", "", f"| set | start | readers | votes | {head} | {worst} |"]
    lines.append("|---|---|--:|--:|" + "--:|" * (2 * len(names) + len(learners)))
    for set_name in dict.fromkeys(str(r["set"]) for r in rows):
        for start in dict.fromkeys(str(r["start"]) for r in rows if r["set"] == set_name):
            for n in CHECKPOINTS:
                chosen = [
                    r for r in rows if (r["set"], r["start"], r["votes"]) == (set_name, start, n)
                ]
                nd = {s: per_reader(chosen, s, n) for s in names}
                prec = []
                for s in names:
                    mine = [r for r in chosen if r["system"] == s]
                    inc = sum(int(r["included"]) for r in mine)  # type: ignore[call-overload]
                    rel = sum(int(r["relevant"]) for r in mine)  # type: ignore[call-overload]
                    shown = inc / max(len(mine), 1)
                    prec.append(f"{rel / inc:.3f} ({shown:.1f})" if inc else f"- ({shown:.1f})")
                means = " | ".join(f"{np.mean(list(nd[s].values())):.3f}" for s in names)
                low = [min(nd[s][k] - nd["off"][k] for k in nd["off"]) for s in learners]
                lines.append(
                    f"| {set_name} | {start} | {len(nd['off'])} | {n} | {means} | "
                    + " | ".join(prec) + " | " + " | ".join(f"{x:+.3f}" for x in low) + " |"
                )  # fmt: skip
    return "\n".join(lines)


def per_interest(rows: list[Row], systems: Sequence[str] = SYSTEMS[1:]) -> str:
    """Each reader's nDCG@10 with learning off and each system's gain, after 10 and 20 votes."""
    head = " | ".join(f"{s} @{n}" for n in (10, 20) for s in systems)
    lines = [f"| set | start | reader | off @10 | off @20 | {head} |"]
    lines.append("|---|---|---|--:|--:|" + "--:|" * (2 * len(systems)))
    table = {(s, n): per_reader(rows, s, n) for s in ("off", *systems) for n in (10, 20)}
    for key in sorted(table["off", 10]):
        cells = [f"{table['off', n][key]:.3f}" for n in (10, 20)]
        cells += [
            f"{table[s, n][key] - table['off', n][key]:+.3f}" for n in (10, 20) for s in systems
        ]
        lines.append(f"| {' | '.join(key)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def describe(settings: LearningSettings) -> str:
    return ", ".join(f"{f.name}={getattr(settings, f.name)}" for f in fields(settings)[:4])


def sweep(ctx: Context, all_setups: list[Setup]) -> tuple[str, LearningSettings]:
    """Every candidate's gains, the leave-one-interest-out choice, and the choice on all."""
    groups = {r.reader_id: r.group for readers in ctx.readers.values() for r in readers}
    rows = run(all_setups, SWEEP)
    candidates = ["votes"] + [f"{s}#{i}" for s in ("learned", "both") for i in range(len(SWEEP))]
    table = ["| candidate | settings | dev gain 5/10/20 | csfcube gain 5/10/20 | criterion |"]
    table.append("|---|---|---|---|--:|")
    by_candidate = {c: gains(rows, c) for c in candidates}
    for c in candidates:
        cells = []
        for set_name in ctx.readers:
            mine = [r for r in rows if r["set"] == set_name]
            cells.append("/".join(
                f"{np.mean(list(per_reader(mine, c, n).values())) - np.mean(list(per_reader(mine, 'off', n).values())):+.3f}"  # noqa: E501
                for n in CHECKPOINTS[1:]
            ))  # fmt: skip
        what = describe(SWEEP[int(c.split("#")[1])]) if "#" in c else "-"
        score = criterion(by_candidate[c], groups, leave="")
        table.append(f"| {c} | {what} | {' | '.join(cells)} | {score:+.4f} |")
    print("\n".join(table))
    held_out: list[Row] = []
    picks: dict[str, int] = defaultdict(int)
    for group in sorted(set(groups.values())):
        best = max(candidates, key=lambda c: criterion(by_candidate[c], groups, group))
        picks[best] += 1
        held_out += [
            {**r, "system": "chosen"} for r in rows if r["group"] == group and r["system"] == best
        ]
        held_out += [r for r in rows if r["group"] == group and r["system"] == "off"]
    overall = max(candidates, key=lambda c: criterion(by_candidate[c], groups, ""))
    print(f"\nleave-one-interest-out picks (candidate: held-out interests): {dict(picks)}; "
          f"on all interests: {overall}\n")  # fmt: skip
    print(summary(held_out, "Each held-out interest under the candidate chosen without it",
                  systems=("off", "chosen")))  # fmt: skip
    system, _, index = overall.partition("#")
    chosen = SWEEP[int(index)] if index else CHOSEN
    if index and chosen != CHOSEN:
        print(f"\nNOTE: the defaults ({describe(CHOSEN)}) are not the sweep's choice")
    return system, chosen


def context(args: argparse.Namespace) -> tuple[Context, FileEmbeddingCache | None]:
    embedder: Embedder = LazyMiniLM()
    if args.embedder == "hashing":
        from matching_scale import HashingEmbedder

        embedder = HashingEmbedder()
    elif args.embedding_cache is not None:
        embedder = FileMemo(embedder, args.embedding_cache)  # type: ignore[assignment]
    files = FileEmbeddingCache(args.cache) if args.cache else None
    cache: EmbeddingCache = files if files is not None else MemoryEmbeddingCache()
    readers = {"dev": dev_readers()}
    if "csfcube" in args.sets:
        readers["csfcube"] = csfcube_readers(csfcube_folder(), relevant_from=args.csfcube_relevant)
    if "dev" not in args.sets:
        del readers["dev"]
    if args.quick:
        readers = {k: v[:2] for k, v in readers.items()}
    vectors = {}
    for chosen in readers.values():
        papers = {p.id: p for r in chosen for p in (*r.pool, *r.liked)}
        matrix = paper_vectors(list(papers.values()), embedder=embedder, cache=cache)
        vectors.update(zip(papers, matrix, strict=True))
    return Context(Builder(embedder, cache, vectors), readers, args.seeds), files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["dev", "csfcube"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, help="folder keeping paper vectors across runs")
    parser.add_argument("--embedding-cache", type=Path, help=".npz of texts' vectors (MiniLM)")
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--csfcube-relevant", type=int, default=1, help="grade a reader likes")
    parser.add_argument("--per-interest", action="store_true")
    parser.add_argument("--quick", action="store_true", help="2 readers per set: a smoke run")
    args = parser.parse_args()
    started = time.perf_counter()
    ctx, files = context(args)
    dev = base_rate(dev_readers())
    print(f"prior: the global Ranker's calibrated P(relevant) as a logit; threshold P >= 0.6; "
          f"dev base rate (grade >= 1) {dev:.3f}; seeds {args.seeds}\n")  # fmt: skip
    all_setups = setups(ctx)
    system, chosen = sweep(ctx, all_setups) if args.sweep else ("learned", CHOSEN)
    rows = run(all_setups, [chosen])
    print()
    print(summary(rows, f"All systems; the model with {describe(chosen)} (ships: {system})"))
    if args.per_interest:
        print()
        print(per_interest(rows))
    print()
    print(first_digest_report(ctx, chosen))
    print()
    print(refit_timing_report(ctx, chosen, fits=3 if args.quick else 30))
    if files is not None:
        files.save()
    if isinstance(ctx.builder.embedder, FileMemo):
        ctx.builder.embedder.save()
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
