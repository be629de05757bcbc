"""Does P(relevant) keep its meaning when the day changes? The text channel's z-score against
different references, fitted leave-one-interest-out on the development pool and scored on
other days made of the same labelled papers.

Variants of the hybrid text model (each fitted on the dev pool the way `ranking.py --fit` fits
the shipped one):
- day: z_sem over the day's papers (the shipped design);
- sample: z_sem against a fixed background, the packaged sample listing (86 cs.AI papers of
  2025-08-20, newsletter/pipeline/sample_arxiv_cs.AI_2025-08-20.xml);
- pool: z_sem against the dev pool itself, fixed (a stand-in for a per-deployment running
  estimate over ordinary days: on the dev day it equals `day`);
- no z: log_sem, log_lex, kw_title only.

Days: the dev pool (205 papers); the dev pool + the 2,191 CSFCube papers as distractors (a
broad day: precision counted with every distractor irrelevant, and with the included ones
graded, benchmarks/devset/distractor_grades.json); a random half of the dev pool (a narrow
day, five draws, averaged). Stability: over the (interest, paper) pairs present in both the
dev pool and the other day, the mean |change of P|, and the decisions that flip (in one digest,
not the other) as a share of the pairs included on either day. Short interests: each dev
interest as its description alone, or its first keyword alone (rules kept), scored by the
weights fitted on the full profiles. Results: benchmarks/RANKING.md, section 9.

    .venv/bin/python benchmarks/robustness.py [--embedding-cache F.npz] [--csfcube DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from ranking import (
    CSFCUBE,
    LIMIT,
    FileMemo,
    Included,
    _run,
    csfcube_missing,
    fit_logistic,
    included,
    load_csfcube_papers,
    load_interests,
    load_pool,
    ndcg_at,
    passes_rules,
)
from ranking import small as small_set

import newsletter.matching.ranker as ranker_module
from newsletter.domain import Paper
from newsletter.matching import model as M
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import (
    MemoryEmbeddingCache,
    facet_vectors,
    paper_vectors,
    profile_facets,
)
from newsletter.sources.files import parse_file_bytes

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "newsletter/pipeline/sample_arxiv_cs.AI_2025-08-20.xml"
HALVES = 5
SMALL_DISTRACTORS = 25  # --small: distractors, and background papers
TAUS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
VARIANTS = {
    "day": M.TEXT_FEATURES,
    "sample": M.TEXT_FEATURES,
    "pool": M.TEXT_FEATURES,
    "no z": ("log_sem", "log_lex", "kw_title"),
}
Array = NDArray[np.float64]
BROAD = "broad: dev + CSFCube"
GRADED = "broad, distractors graded"
SHORT = ("description only", "first keyword only")
# The distractors some variant put in a digest (P >= 0.5), graded 0/1/2 for the interest by
# reading title and abstract, blind to which variant included them (same rubric as the dev
# set's grades); every other distractor counts 0. The file names each CSFCube paper only by
# distractor_key (CSFCube is CC BY-NC: the repository carries none of it, ids included).
DISTRACTOR_GRADES: dict[str, dict[str, int]] = json.loads(
    (ROOT / "benchmarks/devset/distractor_grades.json").read_text()
)


def distractor_key(paper_id: str) -> str:
    """What distractor_grades.json calls a CSFCube paper: a hash of its id."""
    return hashlib.sha256(f"csfcube:{paper_id}".encode()).hexdigest()[:16]


def distractor_grades(interest: str, day_ids: list[str]) -> dict[str, int]:
    """The interest's graded distractors among the day's papers, by paper id."""
    graded = DISTRACTOR_GRADES.get(interest, {})
    return {pid: graded[key] for pid in day_ids if (key := distractor_key(pid)) in graded}


@dataclass
class Day:
    name: str
    papers: list[Paper]
    ranker: Ranker
    sem: Array  # interests x papers, raw mean facet cosine
    lex: Array
    kw: Array


def reference_stats(profile_vectors: list[NDArray[np.float32]], background: NDArray) -> Array:
    """Per interest, the mean and spread of its similarity over `background` papers."""
    rows = [(fv @ background.T).mean(axis=0) for fv in profile_vectors]
    return np.array([(r.mean(), r.std()) for r in rows], np.float64)


def design(day: Day, variant: str, refs: dict[str, Array]) -> NDArray:
    inputs = M.features(day.sem, day.lex, day.kw)
    if variant in refs:
        mean, std = refs[variant][:, :1], refs[variant][:, 1:]
        inputs["z_sem"] = (day.sem - mean) / std
    return np.stack([inputs[n] for n in VARIANTS[variant]], axis=-1)


@contextmanager
def scoring(model: M.Logistic, reference: Array | None) -> Iterator[None]:
    """The ranker's own path (rules, authors) with `model` and, for one interest at a time,
    z_sem against `reference` (its mean, std) instead of the day."""
    kept_model, kept_features = M.TEXT["hybrid"], ranker_module.features

    def features(sem: Array | None, lex: Array, kw: Array | None = None) -> dict[str, Array]:
        out = kept_features(sem, lex, kw)
        if reference is not None and sem is not None:
            out["z_sem"] = (sem - reference[0]) / reference[1]
        return out

    M.TEXT["hybrid"] = model
    ranker_module.features = features  # type: ignore[assignment]
    try:
        yield
    finally:
        M.TEXT["hybrid"], ranker_module.features = kept_model, kept_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding-cache", type=Path)
    parser.add_argument("--csfcube", type=Path, default=CSFCUBE)
    parser.add_argument("--small", action="store_true", help="a smoke test (ranking.py --small)")
    args = parser.parse_args()
    from newsletter.matching.embedding import SentenceTransformerEmbedder

    started = time.perf_counter()
    memo = FileMemo(SentenceTransformerEmbedder("all-MiniLM-L6-v2"), args.embedding_cache)
    try:
        report(*study(memo, args.csfcube, small=args.small))
    finally:
        memo.save()
    print(f"({time.perf_counter() - started:.0f} s)")


def study(
    memo: FileMemo, csfcube: Path | None, *, small: bool = False
) -> tuple[dict, dict, dict, dict]:
    pool, interests = load_pool(), load_interests()
    if small:
        pool, interests, _ = small_set(pool, interests, None)
    profiles = [profile for _, profile, _ in interests]
    cache = MemoryEmbeddingCache()
    embedder: Callable[..., object] = memo  # type: ignore[assignment]
    days_papers = {"dev pool": pool}
    if csfcube is not None and (csfcube / "papers.jsonl").is_file():
        distractors = load_csfcube_papers(csfcube)
        days_papers[BROAD] = pool + (distractors[:SMALL_DISTRACTORS] if small else distractors)
    else:
        print(csfcube_missing(csfcube) + " No broad day.\n")
    rng = np.random.default_rng(0)
    for draw in range(1 if small else HALVES):
        keep = sorted(rng.permutation(len(pool))[: len(pool) // 2])
        days_papers[f"half {draw}"] = [pool[i] for i in keep]
    days = {}
    for name, papers in days_papers.items():
        ranker = Ranker(papers, embedder=embedder, cache=cache)  # type: ignore[arg-type]
        s = ranker.signals(profiles)
        assert s.text_sem is not None
        days[name] = Day(name, papers, ranker, *(np.asarray(a, np.float64) for a in
                                                 (s.text_sem, s.text_lex, s.kw_title)))  # fmt: skip
    sample = parse_file_bytes(SAMPLE.read_bytes(), what=SAMPLE.name).papers
    sample = sample[:SMALL_DISTRACTORS] if small else sample
    fvs = facet_vectors([profile_facets(p) for p in profiles], embedder=embedder, cache=None)  # type: ignore[arg-type]
    backgrounds = {
        "sample": paper_vectors(sample, embedder=embedder, cache=cache),  # type: ignore[arg-type]
        "pool": paper_vectors(pool, embedder=embedder, cache=cache),  # type: ignore[arg-type]
    }
    refs = {name: reference_stats(fvs, b) for name, b in backgrounds.items()}
    # Short interests, the profile's rules kept (the grades apply them): scored on the dev
    # pool by the weights fitted on the full profiles.
    forms = {
        SHORT[0]: [replace(p, keywords=()) for p in profiles],
        SHORT[1]: [replace(p, description="", keywords=p.keywords[:1]) for p in profiles],
    }
    form_refs = {}
    for form, short in forms.items():
        vectors = facet_vectors([profile_facets(p) for p in short], embedder=embedder, cache=None)  # type: ignore[arg-type]
        form_refs[form] = {name: reference_stats(vectors, b) for name, b in backgrounds.items()}
    dev = days["dev pool"]
    ids = [p.id for p in pool]
    rules = np.array([[passes_rules(p, profile) for p in pool] for profile in profiles])
    y = np.array([[g.get(i, 0) for i in ids] for _, _, g in interests]) >= 1
    results: dict[str, dict[str, list]] = {}
    probabilities: dict[tuple[str, str], Array] = {}
    fitted: dict[str, M.Logistic] = {}
    for variant, names in VARIANTS.items():
        x = design(dev, variant, refs)
        fitted[variant] = fit_logistic(x[rules], y[rules], names)
        results[variant] = {name: [] for name in [*days, GRADED, *forms]}
        for hold, (iid, profile, grades) in enumerate(interests):
            train = rules.copy()
            train[hold] = False
            model = fit_logistic(x[train], y[train], names)
            reference = refs[variant][hold] if variant in refs else None
            for name, day in days.items():
                with scoring(model, reference):
                    p, allowed = day.ranker.probabilities([profile])
                day_ids = [q.id for q in day.papers]
                present = {i: g for i, g in grades.items() if i in day.ranker._row}
                results[variant][name].append(_run(day_ids, p[0], allowed[0], present))
                if name == BROAD:
                    graded = present | distractor_grades(iid, day_ids)
                    results[variant][GRADED].append(_run(day_ids, p[0], allowed[0], graded))
                probabilities[variant, name] = np.vstack(
                    [probabilities.get((variant, name), np.zeros((0, len(day_ids)))), p]
                )
            for form, short in forms.items():
                reference = form_refs[form][variant][hold] if variant in refs else None
                with scoring(model, reference):
                    p, allowed = dev.ranker.probabilities([short[hold]])
                results[variant][form].append(_run(ids, p[0], allowed[0], grades))
    return results, probabilities, days, fitted


def report(
    results: dict[str, dict[str, list]],
    probabilities: dict[tuple[str, str], Array],
    days: dict[str, Day],
    fitted: dict[str, M.Logistic],
) -> None:
    print("### Fitted on the whole dev pool (for reference)\n")
    for variant, m in fitted.items():
        print(f"- {variant}: Logistic({m.intercept}, {m.weights})")
    print("\n### Threshold sweep, leave-one-interest-out on the dev pool\n")
    print("| variant | nDCG@10 | " + " | ".join(f"tau {t}" for t in TAUS) + " |")
    print("|---|---|" + "---|" * len(TAUS))
    for variant, per_day in results.items():
        runs = per_day["dev pool"]
        ndcg = np.mean([ndcg_at(r, g) for r, _, g in runs])
        cells = [cell(included(runs, t)) for t in TAUS]
        print(f"| {variant} | {ndcg:.3f} | " + " | ".join(cells) + " |")
    print("\n(cells: included precision / grade-2 recall / mean digest size)\n")
    print("### Short interests on the dev pool (weights fitted on the full profiles, LOIO)\n")
    head = " | ".join(f"{form}: nDCG@10; tau {t}" for form in SHORT for t in (0.55, M.THRESHOLD))
    print(f"| variant | {head} |\n|---|" + "---|" * (2 * len(SHORT)))
    for variant, per_day in results.items():
        cells = []
        for form in SHORT:
            ndcg = np.mean([ndcg_at(r, g) for r, _, g in per_day[form]])
            for tau in (0.55, M.THRESHOLD):
                cells.append(f"{ndcg:.3f}; {cell(included(per_day[form], tau))}")
        print(f"| {variant} | " + " | ".join(cells) + " |")
    print()
    for tau in (M.THRESHOLD, 0.7):
        print(f"### Each day at tau {tau} (leave-one-interest-out)\n")
        names = day_groups(days)
        print("| variant | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for variant, per_day in results.items():
            cells = []
            for group, members in names.items():
                ndcg = np.mean([ndcg_at(r, g) for m in members for r, _, g in per_day[m]])
                inc = mean_included([included(per_day[m], tau) for m in members])
                text = f"{ndcg:.3f}; {cell(inc)}"
                if group == BROAD:
                    graded = included(per_day[GRADED], tau)
                    text = f"{ndcg:.3f}; {inc.precision:.3f} ({graded.precision:.3f}) / " + (
                        f"{inc.recall:.3f} / {inc.size:.1f}"
                    )
                cells.append(text)
            print(f"| {variant} | " + " | ".join(cells) + " |")
        print(
            f"\n(cells: nDCG@10; included precision / grade-2 recall / mean size, at most {LIMIT}"
            "; recall and nDCG over the labelled papers of the day; on the broad day the "
            "precision counts every distractor 0, in brackets the graded distractors count "
            "by their grade)\n"
        )
        print(f"### Stability against the dev pool at tau {tau}\n")
        others = {k: v for k, v in names.items() if k != "dev pool"}
        print("| variant | " + " | ".join(f"{k}: mean abs dP / flips" for k in others)
              + " |\n|---|" + "---|" * len(others))  # fmt: skip
        for variant in results:
            cells = [stability(probabilities, days, variant, members, tau)
                     for members in others.values()]  # fmt: skip
            print(f"| {variant} | " + " | ".join(cells) + " |")
        print()


def day_groups(days: dict[str, Day]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    draws = sum(name.startswith("half ") for name in days)
    for name in days:
        key = f"half of the dev pool ({draws} draws)" if name.startswith("half ") else name
        groups.setdefault(key, []).append(name)
    return groups


def mean_included(values: list[Included]) -> Included:
    return Included(*(float(np.mean([getattr(v, f) for v in values])) for f in
                      ("precision", "macro_precision", "recall", "size", "empty")))  # fmt: skip


def cell(inc: Included) -> str:
    return f"{inc.precision:.3f} / {inc.recall:.3f} / {inc.size:.1f}"


def stability(
    probabilities: dict[tuple[str, str], Array],
    days: dict[str, Day],
    variant: str,
    members: list[str],
    tau: float,
) -> str:
    base = probabilities[variant, "dev pool"]
    column = {p.id: i for i, p in enumerate(days["dev pool"].papers)}
    deltas, flips = [], []
    for name in members:
        shared = [(column[p.id], j) for j, p in enumerate(days[name].papers) if p.id in column]
        a = base[:, [i for i, _ in shared]]
        b = probabilities[variant, name][:, [j for _, j in shared]]
        deltas.append(np.abs(a - b).mean())
        either = (a >= tau) | (b >= tau)
        flips.append(((a >= tau) != (b >= tau)).sum() / max(int(either.sum()), 1))
    return f"{np.mean(deltas):.3f} / {100 * np.mean(flips):.0f}%"


if __name__ == "__main__":
    main()
