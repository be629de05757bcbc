"""Per-reader learning measured with simulated readers: nDCG@10 and included-set precision
after 0, 5, 10 and 20 votes, learning on against learning off (and today's votes).

Sets, starts and the digest-and-vote protocol: see learning_sets.py (readers and their taste),
learning_setup.py (priors, calibration, starts) and learning_sim.py (days, digests, votes,
scores). Every setting is global. `--sweep` runs a grid of model settings and chooses one by
leave-one-interest-out (a CSFCube query paper's facets are held out together): each held-out
interest is scored under the setting that is best on all the others (mean nDCG@10 gain over
5, 10 and 20 votes, both starts, the two sets weighing equally). The first-digest experiments
(a library instead of a written interest; ratings of chosen papers) and the refit timing are
in learning_firstday.py; the 100,000-reader figure in learning_scale.py.

    .venv/bin/python benchmarks/learning.py --cache DIR [--sweep] [--per-interest]
    .venv/bin/python benchmarks/learning.py --quick --embedder hashing   # smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from learning_firstday import first_digest_report, refit_timing_report
from learning_sets import (
    DEFAULT_CACHE,
    FileEmbeddingCache,
    LazyMiniLM,
    Reader,
    corpus_centre,
    csfcube_folder,
    csfcube_readers,
    dev_readers,
)
from learning_setup import Builder, base_logit, fit_calibrations, liked_start
from learning_sim import CHECKPOINTS, SYSTEMS, Setup, simulate

from newsletter.matching.learning.model import LearningSettings
from newsletter.matching.learning.prior import Calibration
from newsletter.matching.semantic import Embedder, paper_vectors

CHOSEN = LearningSettings()  # the defaults, which the sweep below chose
SWEEP = [
    LearningSettings(weight_penalty=w, unlabelled_weight=u, bias_penalty=b, prior_scale_penalty=b)
    for w in (0.03, 0.1, 0.3, 1.0)
    for u in (0.0, 0.1)
    for b in (float("inf"), 1.0)
]
STARTS = ("interest", "liked")

Row = dict[str, object]


@dataclass(frozen=True)
class Context:
    builder: Builder
    readers: dict[str, list[Reader]]
    centres: dict[str, np.ndarray]
    calibration: Calibration
    per_reader: dict[str, Calibration]
    seeds: list[int]

    def calibration_for(self, reader: Reader) -> Calibration:
        return self.per_reader.get(reader.reader_id, self.calibration)


def setups(ctx: Context, *, liked_as_examples: bool = True) -> list[Setup]:
    made = []
    for set_name, readers in ctx.readers.items():
        for reader in readers:
            cal = ctx.calibration_for(reader)
            centre = ctx.centres[set_name]
            for seed in ctx.seeds:
                made.append(
                    ctx.builder.setup(
                        reader, "interest", seed, profile=reader.interest, liked=[],
                        examples=False, cal=cal, centre=centre,
                    )
                )  # fmt: skip
                liked = liked_start(reader, seed)
                if liked is None:
                    continue
                profile = type(reader.interest)(seed_papers=tuple(p.id for p in liked))
                made.append(
                    ctx.builder.setup(
                        reader, "liked", seed, profile=profile, liked=liked,
                        examples=liked_as_examples, cal=cal, centre=centre,
                    )
                )  # fmt: skip
    return made


def run(all_setups: list[Setup], settings: LearningSettings, *, today: bool) -> list[Row]:
    rows: list[Row] = []
    for setup in all_setups:
        for votes, systems in simulate(setup, settings, today=today).items():
            for system, scores in systems.items():
                rows.append(
                    {
                        "set": setup.reader.set_name, "start": setup.start,
                        "reader": setup.reader.reader_id, "group": setup.reader.group,
                        "seed": setup.seed, "votes": votes, "system": system,
                        "ndcg": scores.ndcg, "included": scores.included,
                        "relevant": scores.relevant_included,
                    }
                )  # fmt: skip
    return rows


def per_reader(rows: Iterable[Row], system: str, votes: int) -> dict[tuple[str, str, str], float]:
    """(set, start, reader) -> nDCG@10 averaged over the seeds."""
    found: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["system"] == system and r["votes"] == votes:
            found[(str(r["set"]), str(r["start"]), str(r["reader"]))].append(float(r["ndcg"]))  # type: ignore[arg-type]
    return {key: float(np.mean(values)) for key, values in found.items()}


def gains(rows: list[Row]) -> dict[tuple[str, str, str], float]:
    """Per reader: the selection criterion, mean nDCG@10 gain over 5, 10 and 20 votes."""
    by_n = [(per_reader(rows, "learned", n), per_reader(rows, "off", n)) for n in CHECKPOINTS[1:]]
    keys = by_n[0][0].keys()
    return {k: float(np.mean([learned[k] - off[k] for learned, off in by_n])) for k in keys}


def criterion(gain: dict[tuple[str, str, str], float], groups: dict[str, str], leave: str) -> float:
    """Mean gain over the readers outside group `leave`, each set weighing the same."""
    by_set: dict[str, list[float]] = defaultdict(list)
    for (set_name, _, reader), value in gain.items():
        if groups[reader] != leave:
            by_set[set_name].append(value)
    return float(np.mean([np.mean(v) for v in by_set.values()]))


def summary(rows: list[Row], title: str, systems: Iterable[str] = SYSTEMS) -> str:
    names = [s for s in systems if any(r["system"] == s for r in rows)]
    head = " | ".join(f"nDCG {s}" for s in names) + " | " + " | ".join(f"prec {s}" for s in names)
    lines = [
        f"**{title}**",
        "",
        f"| set | start | readers | votes | {head} | gain | worst reader |",
    ]
    lines.append("|" + "---|" * (6 + 2 * len(names)))
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
                delta = [nd["learned"][k] - nd["off"][k] for k in nd["off"]]
                means = " | ".join(f"{np.mean(list(nd[s].values())):.3f}" for s in names)
                lines.append(
                    f"| {set_name} | {start} | {len(nd['off'])} | {n} | {means} | "
                    + " | ".join(prec) + f" | {np.mean(delta):+.3f} | {min(delta):+.3f} |"
                )  # fmt: skip
    return "\n".join(lines)


def per_interest(rows: list[Row]) -> str:
    lines = [
        "| set | start | reader | off@10 | learned@10 | gain@10 | off@20 | learned@20 | gain@20 |"
    ]
    lines.append("|---|---|---|--:|--:|--:|--:|--:|--:|")
    off10, on10 = per_reader(rows, "off", 10), per_reader(rows, "learned", 10)
    off20, on20 = per_reader(rows, "off", 20), per_reader(rows, "learned", 20)
    for key in sorted(off10):
        cells = [
            f"{off[key]:.3f} | {on[key]:.3f} | {on[key] - off[key]:+.3f}"
            for off, on in ((off10, on10), (off20, on20))
        ]
        lines.append(f"| {' | '.join(key)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def describe(settings: LearningSettings) -> str:
    return ", ".join(f"{f.name}={getattr(settings, f.name)}" for f in fields(settings)[:4])


def sweep(ctx: Context, all_setups: list[Setup]) -> LearningSettings:
    groups = {r.reader_id: r.group for readers in ctx.readers.values() for r in readers}
    results, table = [], ["| # | settings | dev gain 5/10/20 | csfcube gain 5/10/20 | criterion |"]
    table.append("|--:|---|---|---|--:|")
    for index, settings in enumerate(SWEEP):
        rows = run(all_setups, settings, today=False)
        results.append((rows, gains(rows)))
        cells = []
        for set_name in ctx.readers:
            mine = [r for r in rows if r["set"] == set_name]
            by_n = [per_reader(mine, "learned", n).values() for n in CHECKPOINTS[1:]]
            off_n = [per_reader(mine, "off", n).values() for n in CHECKPOINTS[1:]]
            cells.append(
                "/".join(
                    f"{np.mean(list(a)) - np.mean(list(b)):+.3f}"
                    for a, b in zip(by_n, off_n, strict=True)
                )
            )
        score = criterion(results[-1][1], groups, leave="")
        table.append(f"| {index} | {describe(settings)} | {' | '.join(cells)} | {score:+.4f} |")
        print(f"  sweep {index + 1}/{len(SWEEP)}", file=sys.stderr, flush=True)
    print("\n".join(table))
    held_out: list[Row] = []
    picks: dict[int, int] = defaultdict(int)
    for group in sorted(set(groups.values())):
        best = max(range(len(SWEEP)), key=lambda i: (criterion(results[i][1], groups, group), -i))
        picks[best] += 1
        held_out += [r for r in results[best][0] if r["group"] == group]
    overall = max(range(len(SWEEP)), key=lambda i: (criterion(results[i][1], groups, ""), -i))
    print(f"\nleave-one-interest-out picks (setting: held-out interests): {dict(picks)}; "
          f"on all interests: #{overall} ({describe(SWEEP[overall])})\n")  # fmt: skip
    print(summary(held_out, "Each held-out interest under the setting chosen without it",
                  systems=("off", "learned")))  # fmt: skip
    if SWEEP[overall] != CHOSEN:
        print(f"\nNOTE: the defaults ({describe(CHOSEN)}) are not the sweep's choice")
    return SWEEP[overall]


def context(args: argparse.Namespace) -> tuple[Context, FileEmbeddingCache]:
    cache = FileEmbeddingCache(args.cache)
    embedder: Embedder = LazyMiniLM()
    if args.embedder == "hashing":
        from matching_scale import HashingEmbedder

        embedder = HashingEmbedder()
    readers = {"dev": dev_readers()}
    if "csfcube" in args.sets:
        readers["csfcube"] = csfcube_readers(csfcube_folder(), relevant_from=args.csfcube_relevant)
    if "dev" not in args.sets:
        del readers["dev"]
    if args.quick:
        readers = {k: v[:2] for k, v in readers.items()}
    vectors, centres = {}, {}
    for set_name, chosen in readers.items():
        papers = {p.id: p for r in chosen for p in (*r.pool, *r.liked)}
        matrix = paper_vectors(list(papers.values()), embedder=embedder, cache=cache)
        vectors.update(zip(papers, matrix, strict=True))
        centres[set_name] = corpus_centre(matrix)  # the mean of the set's papers
    builder = Builder(embedder, cache, vectors)
    dev = dev_readers()[: 2 if args.quick else None]
    scores = {r.reader_id: builder.interest_scores(r) for r in dev}
    everyone, per = fit_calibrations(dev, scores)
    builder.base_logit = base_logit(dev)
    return Context(builder, readers, centres, everyone, per, args.seeds), cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["dev", "csfcube"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="vector cache folder")
    parser.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--csfcube-relevant", type=int, default=1, help="grade a reader likes")
    parser.add_argument("--per-interest", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 readers per set: a smoke run")
    args = parser.parse_args()
    started = time.perf_counter()
    ctx, cache = context(args)
    c = ctx.calibration
    print(f"prior: today's hybrid Ranker, P(relevant) = sigmoid({c.slope:.3f} * score "
          f"{c.intercept:+.3f}) fitted on the development set (per dev reader: on the other 11); "
          f"matching threshold score 0.4 = P {1 / (1 + np.exp(-c.threshold_logit(0.4))):.3f}; "
          f"seeds {args.seeds}\n")  # fmt: skip
    all_setups = setups(ctx)
    chosen = sweep(ctx, all_setups) if args.sweep else CHOSEN
    rows = run(all_setups, chosen, today=True)
    print()
    print(summary(rows, f"Chosen settings ({describe(chosen)})"))
    if args.per_interest:
        print()
        print(per_interest(rows))
    print()
    print(first_digest_report(ctx, chosen))
    print()
    print(refit_timing_report(ctx, chosen, fits=3 if args.quick else 30))
    cache.save()
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
