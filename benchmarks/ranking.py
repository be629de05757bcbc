"""Ranking quality on the development set and on the CSFCube half, with the cross-validated
figures of the fitted model.

(a) Development set (benchmarks/devset: 12 interests x 205 papers, graded 0/1/2): nDCG@10 and
    P@5 of the ranking (hard rules applied), and the *included set*: the papers over the
    threshold, at most 10 per digest. Included precision = relevant (grade >= 1) included
    papers / all included papers, pooled over the interests (macro: mean over non-empty
    digests); recall = mean over interests of (grade-2 papers included) / min(#grade 2, 10).
(b) CSFCube half (../shared/data/csfcube_dev, read there, never copied; skipped when absent):
    query-by-example, the query paper as the reader's one liked paper, each query-facet pool
    ranked whole; NDCG%20 and MAP as the collection defines them, per facet and overall.
(c) With --fit: the model's weights fitted again (text channel on (a), liked channel on (b)),
    with leave-one-interest-out / leave-one-query-out figures, the in-sample excess, and the
    whole threshold sweep. The weights in newsletter/matching/model.py came from this.

Systems: tfidf (sklearn cosine, 1-2-grams, like arxiv-sanity; "+ rules" applies the
profile's hard rules), and the ranker with one part alone (lexical: TF-IDF of the profile's
words + keyword-in-title; semantic: embeddings) or both (hybrid, what the service runs).

    .venv/bin/python benchmarks/ranking.py [--fit] [--per-interest] [--embedding-cache F.npz]
        [--csfcube DIR] [--small]

The CSFCube half is looked for in ../shared/data/csfcube_dev beside the checkout (or one
level further up, from a worktree); without it the script says so and reports (a) alone.
`--small` runs every code path on a few interests and papers (tests/test_benchmarks.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from newsletter.domain import InterestProfile, Paper, Source
from newsletter.matching import model as M
from newsletter.matching.exclusions import excluding_term
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import MemoryEmbeddingCache, profile_text
from newsletter.sources.files import parse_file_bytes

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "benchmarks/devset"
POOL = ["seed_papers.jsonl", "arxiv_listing_atom_cs.AI_2025-08-20.xml"]
CSFCUBE_IN_SHARED = "shared/data/csfcube_dev"


def csfcube_places(root: Path) -> list[Path]:
    """Where the CSFCube half may be: ../shared beside the checkout (/work/main ->
    /work/shared), or one level further up for a worktree (/work/wt/NAME -> /work/shared)."""
    return [base / CSFCUBE_IN_SHARED for base in (root.parent, root.parent.parent)]


def find_csfcube(root: Path) -> Path | None:
    return next((p for p in csfcube_places(root) if (p / "papers.jsonl").is_file()), None)


CSFCUBE = find_csfcube(ROOT)
SMALL_INTERESTS, SMALL_PAPERS, SMALL_CANDIDATES = 3, 40, 12
FACETS = ("background", "method", "result")
LIMIT = 10
PARTS = ("lexical", "semantic", "hybrid")


# -- data -------------------------------------------------------------------------------


def load_pool() -> list[Paper]:
    papers: list[Paper] = []
    for name in POOL:
        papers += parse_file_bytes((ROOT / "tests/data" / name).read_bytes(), what=name).papers
    return papers


def load_interests() -> list[tuple[str, InterestProfile, dict[str, int]]]:
    rows = json.loads((DEVSET / "interests.json").read_text())
    return [
        (
            row["id"],
            build_profile(
                description=row["description"],
                keywords=row["keywords"],
                exclude=row["exclude"],
                categories=row["categories"],
                category_mode=row["category_mode"],
                authors=row["authors"],
            ),
            json.loads((DEVSET / "grades" / f"{row['id']}.json").read_text()),
        )
        for row in rows
    ]


@dataclass
class Pool:
    """One CSFCube query-facet pair: the query paper and its graded candidates."""

    query: Paper
    facet: str
    papers: list[Paper]
    grades: dict[str, int]


def load_csfcube_papers(root: Path) -> list[Paper]:
    papers = []
    for line in (root / "papers.jsonl").read_text().splitlines():
        row = json.loads(line)
        papers.append(Paper(
            id=row["id"], title=row["title"] or "", abstract=row["abstract"] or "",
            sources=(Source.JSON_LINES,),
        ))  # fmt: skip
    return papers


def load_csfcube(root: Path) -> list[Pool]:
    papers = {p.id: p for p in load_csfcube_papers(root)}
    pools = []
    for facet in FACETS:
        gold = json.loads((root / f"gold-{facet}.json").read_text())
        for query, entry in sorted(gold.items()):
            cands = [c for c in entry["cands"] if c != query]
            grades = dict(zip(entry["cands"], entry["relevance_adju"], strict=True))
            pools.append(Pool(papers[query], facet, [papers[c] for c in cands], grades))
    return pools


# -- metrics ----------------------------------------------------------------------------


def ndcg_at(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    def dcg(gains: Sequence[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(pid, 0) for pid in ranked]) / ideal if ideal else 0.0


def precision_at(ranked: Sequence[str], grades: dict[str, int], k: int = 5) -> float:
    return sum(grades.get(pid, 0) > 0 for pid in ranked[:k]) / k


def csf_ndcg20(ranked: Sequence[str], grades: dict[str, int]) -> float:
    """Linear gains, ranks 1 and 2 undiscounted, cut at int(0.20 x pool size)."""
    k = int(0.20 * len(ranked))

    def dcg(gains: Sequence[int]) -> float:
        return sum(g if i == 0 else g / math.log2(i + 1) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted((grades[p] for p in ranked), reverse=True))
    return dcg([grades[p] for p in ranked]) / ideal if ideal else 0.0


def csf_ap(ranked: Sequence[str], grades: dict[str, int]) -> float:
    relevant = sum(grades[p] >= 2 for p in ranked)
    hits, total = 0, 0.0
    for i, pid in enumerate(ranked):
        if grades[pid] >= 2:
            hits += 1
            total += hits / (i + 1)
    return total / relevant if relevant else 0.0


@dataclass
class Included:
    precision: float  # pooled over interests
    macro_precision: float  # mean over non-empty digests
    recall: float  # of grade-2 papers, against min(#grade 2, LIMIT), mean over interests
    size: float
    empty: int


def included(
    runs: Sequence[tuple[list[str], dict[str, float], dict[str, int]]], threshold: float | None
) -> Included:
    """`runs`: per interest, (allowed ids ranked, score by id, grades). No threshold: top 10."""
    hits = shown = empty = 0
    precisions, recalls, sizes = [], [], []
    for ranked, score, grades in runs:
        picked = [p for p in ranked if threshold is None or score[p] >= threshold][:LIMIT]
        relevant = sum(grades.get(p, 0) >= 1 for p in picked)
        hits += relevant
        shown += len(picked)
        if picked:
            precisions.append(relevant / len(picked))
        else:
            empty += 1
        high = sum(g == 2 for g in grades.values())
        recalls.append(sum(grades.get(p, 0) == 2 for p in picked) / min(high, LIMIT) if high else 1)
        sizes.append(len(picked))
    return Included(
        hits / shown if shown else float("nan"),
        float(np.mean(precisions)) if precisions else float("nan"),
        float(np.mean(recalls)), float(np.mean(sizes)), empty,
    )  # fmt: skip


# -- embeddings -------------------------------------------------------------------------


class FileMemo:
    """Wraps an embedder so each distinct text is embedded once across runs (an .npz of
    sha1(text) -> vector): the benchmark embeds ~30,000 texts on a first run."""

    def __init__(self, embedder: object, path: Path | None) -> None:
        self._embedder = embedder
        self.name = embedder.name  # type: ignore[attr-defined]
        self._path = path
        self._store: dict[str, NDArray[np.float32]] = {}
        self._dirty = False
        if path is not None and path.exists():
            data = np.load(path)
            self._store = dict(zip((str(k) for k in data["keys"]), data["vecs"], strict=True))

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._store}
        if missing:
            fresh = self._embedder.embed(list(missing.values()))  # type: ignore[attr-defined]
            self._store.update(zip(missing, np.asarray(fresh, np.float32), strict=True))
            self._dirty = True
        return np.vstack([self._store[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self._path is not None and self._dirty:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self._store)
            tmp = self._path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(keys), vecs=np.vstack([self._store[k] for k in keys]))
            os.replace(tmp, self._path)


# -- systems ----------------------------------------------------------------------------


def tfidf_scores(papers: list[Paper], queries: list[str]) -> NDArray[np.float64]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform([f"{p.title}. {p.abstract}" for p in papers])
    return np.asarray((vectorizer.transform(queries) @ matrix.T).toarray(), np.float64)


def passes_rules(paper: Paper, profile: InterestProfile) -> bool:
    if excluding_term(paper, profile.exclude):
        return False
    if profile.category_mode == "filter" and profile.categories:
        return any(c in paper.categories for c in profile.categories)
    return True


def order(ids: list[str], scores: NDArray[np.float64], allowed: NDArray[np.bool_]) -> list[str]:
    """Allowed ids, best score first, equal scores in id order (as the ranker does)."""
    index = np.flatnonzero(allowed)
    keys = np.array(ids, dtype=object)[index]
    return [ids[i] for i in index[np.lexsort((keys, -scores[index]))]]


@dataclass
class DevRun:
    """One system on the development set: per interest, its ranking and scores."""

    runs: list[tuple[list[str], dict[str, float], dict[str, int]]]
    calibrated: bool


def dev_tfidf(papers: list[Paper], interests: list, *, rules: bool) -> DevRun:
    ids = [p.id for p in papers]
    scores = tfidf_scores(papers, [profile_text(profile) for _, profile, _ in interests])
    runs = []
    for row, (_, profile, grades) in enumerate(interests):
        allowed = np.array([passes_rules(p, profile) if rules else True for p in papers])
        ranked = order(ids, scores[row], allowed)
        runs.append((ranked, dict(zip(ids, scores[row].tolist(), strict=True)), grades))
    return DevRun(runs, calibrated=False)


def dev_model(ranker: Ranker, interests: list) -> DevRun:
    ids = [p.id for p in ranker.papers]
    probabilities, allowed = ranker.probabilities([profile for _, profile, _ in interests])
    runs = []
    for row, (_, _, grades) in enumerate(interests):
        p = probabilities[row].astype(np.float64)
        runs.append((order(ids, p, allowed[row]), dict(zip(ids, p.tolist(), strict=True)), grades))
    return DevRun(runs, calibrated=True)


def print_dev(
    results: dict[str, DevRun], interests: list, n_papers: int, per_interest: bool
) -> None:
    print(f"### Development set: {len(interests)} interests x {n_papers} papers\n")
    print(
        f"Included = P(relevant) >= {M.THRESHOLD} (the model's threshold), at most {LIMIT}; "
        "precision pooled (macro in brackets); recall of grade-2 papers against "
        f"min(#grade 2, {LIMIT}). 'top 10' = no threshold, as if every digest filled up.\n"
    )
    print(
        "| system | nDCG@10 | P@5 | included precision | included recall (grade 2) "
        "| mean digest size | top 10: precision / recall |\n|---|---|---|---|---|---|---|"
    )
    for name, result in results.items():
        ndcg = [ndcg_at(r, g) for r, _, g in result.runs]
        p5 = [precision_at(r, g) for r, _, g in result.runs]
        top = included(result.runs, None)
        if result.calibrated:
            inc = included(result.runs, M.THRESHOLD)
            cells = (
                f"{inc.precision:.3f} ({inc.macro_precision:.3f}) | {inc.recall:.3f} "
                f"| {inc.size:.1f}"
            )
        else:
            cells = "- | - | -"
        print(
            f"| {name} | {np.mean(ndcg):.3f} | {np.mean(p5):.3f} | {cells} "
            f"| {top.precision:.3f} / {top.recall:.3f} |"
        )
        if per_interest:
            for (iid, _, _), n, p in zip(interests, ndcg, p5, strict=True):
                print(f"|   {name} {iid} | {n:.3f} | {p:.2f} | | | | |")
    print()


def csf_rankings(
    pools: list[Pool], embedder: object | None, parts: Sequence[str]
) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {name: [] for name in ("tfidf", *parts)}
    cache = MemoryEmbeddingCache()
    for pool in pools:
        ids = [p.id for p in pool.papers]
        text = f"{pool.query.title}. {pool.query.abstract}"
        scores = tfidf_scores([*pool.papers, pool.query], [text])[0][: len(ids)]
        out["tfidf"].append(order(ids, scores, np.ones(len(ids), dtype=bool)))
        profile = InterestProfile(seed_papers=(pool.query.id,))
        for part in parts:
            ranker = Ranker(
                pool.papers, embedder=embedder if part != "lexical" else None,  # type: ignore[arg-type]
                cache=cache, known_papers=[pool.query], weights=Weights(signals=part),
            )  # fmt: skip
            p, allowed = ranker.probabilities([profile])
            out[part].append(order(ids, p[0].astype(np.float64), allowed[0]))
    return out


def print_csf(pools: list[Pool], rankings: dict[str, list[list[str]]]) -> None:
    print(f"### CSFCube half: {len(pools)} query-facet pairs, query paper as the liked paper\n")
    head = " | ".join(f"{f} NDCG%20 / MAP" for f in FACETS)
    print(f"| system | {head} | all NDCG%20 | all MAP |\n|---|---|---|---|---|---|")
    for name, ranked in rankings.items():
        per: dict[str, list[tuple[float, float]]] = {f: [] for f in FACETS}
        for pool, r in zip(pools, ranked, strict=True):
            per[pool.facet].append((csf_ndcg20(r, pool.grades), csf_ap(r, pool.grades)))
        means = {f: 100 * np.mean(per[f], axis=0) for f in FACETS}
        cells = " | ".join(f"{means[f][0]:.1f} / {means[f][1]:.1f}" for f in FACETS)
        every = [x for f in FACETS for x in per[f]]
        print(
            f"| {name} | {cells} | {100 * np.mean([a for a, _ in every]):.1f} "
            f"| {100 * np.mean([b for _, b in every]):.1f} |"
        )
    print()


# -- fitting and cross-validation -------------------------------------------------------


def _design(sem: NDArray | None, lex: NDArray, kw: NDArray | None, names: Sequence[str]) -> NDArray:
    inputs = M.features(sem, lex, kw)
    return np.stack([inputs[n] for n in names], axis=-1)


TEXT_PARTS = {"hybrid": M.TEXT_FEATURES, "semantic": ("z_sem", "log_sem"),
              "lexical": ("log_lex", "kw_title")}  # fmt: skip
LIKED_PARTS = {"hybrid": M.LIKED_FEATURES, "semantic": ("z_sem", "log_sem"),
               "lexical": ("log_lex",)}  # fmt: skip


def fit_logistic(x: NDArray, y: NDArray, names: Sequence[str]) -> M.Logistic:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(max_iter=2000).fit(x, y)
    return M.Logistic(
        round(float(fitted.intercept_[0]), 3),
        tuple((n, round(float(w), 3)) for n, w in zip(names, fitted.coef_[0], strict=True)),
    )


@contextmanager
def swapped(table: dict[str, M.Logistic], part: str, model: M.Logistic) -> Iterator[None]:
    """Score with `model` in place of the shipped weights (the ranker's own path: rules,
    author and category handling included)."""
    kept = table[part]
    table[part] = model
    try:
        yield
    finally:
        table[part] = kept


def fit(papers: list[Paper], interests: list, embedder: object, pools: list[Pool] | None) -> None:
    print("### Fitting the model, with cross-validation\n")
    cache = MemoryEmbeddingCache()
    profiles = [profile for _, profile, _ in interests]
    ids = [p.id for p in papers]
    rules = np.array([[passes_rules(p, profile) for p in papers] for profile in profiles])
    grades = np.array([[g.get(i, 0) for i in ids] for _, _, g in interests])
    text: dict[str, M.Logistic] = {}
    for part, names in TEXT_PARTS.items():
        ranker = Ranker(
            papers, embedder=embedder if part != "lexical" else None,  # type: ignore[arg-type]
            cache=cache, weights=Weights(signals=part),
        )  # fmt: skip
        signals = ranker.signals(profiles)
        x = _design(signals.text_sem, signals.text_lex, signals.kw_title, names)
        y = grades >= 1
        text[part] = fit_logistic(x[rules], y[rules], names)
        cv, inside = [], []
        for hold, (_, profile, graded) in enumerate(interests):
            train = rules.copy()
            train[hold] = False
            with swapped(M.TEXT, part, fit_logistic(x[train], y[train], names)):
                p, allowed = ranker.probabilities([profile])
            cv.append(_run(ids, p[0], allowed[0], graded))
            with swapped(M.TEXT, part, text[part]):
                p, allowed = ranker.probabilities([profile])
            inside.append(_run(ids, p[0], allowed[0], graded))
        report_dev_fit(part, cv, inside)
    liked: dict[str, M.Logistic] = {}
    if pools:
        queries = sorted({pool.query.id for pool in pools})
        # A reader who liked the query paper wants a candidate similar in any facet: the
        # label for calibration is its best grade over the query's facets (>= 2).
        best: dict[tuple[str, str], int] = {}
        for pool in pools:
            for pid, grade in pool.grades.items():
                key = (pool.query.id, pid)
                best[key] = max(best.get(key, 0), grade)
        for part, names in LIKED_PARTS.items():
            rankers = [
                Ranker(
                    pool.papers,
                    embedder=embedder if part != "lexical" else None,  # type: ignore[arg-type]
                    cache=cache,
                    known_papers=[pool.query],
                    weights=Weights(signals=part),
                )
                for pool in pools
            ]
            liked_profiles = [InterestProfile(seed_papers=(pool.query.id,)) for pool in pools]
            xs, ys = [], []
            for ranker, pool, profile in zip(rankers, pools, liked_profiles, strict=True):
                s = ranker.signals([profile])
                xs.append(_design(s.liked_sem, s.liked_lex, None, names)[0])
                ys.append(np.array([best[pool.query.id, p.id] >= 2 for p in pool.papers]))
            liked[part] = fit_logistic(np.vstack(xs), np.concatenate(ys), names)
            cv_rankings, inside_rankings = [], []
            for q in queries:
                keep = [k for k, pool in enumerate(pools) if pool.query.id != q]
                model = fit_logistic(
                    np.vstack([xs[k] for k in keep]), np.concatenate([ys[k] for k in keep]), names
                )
                for k, pool in enumerate(pools):
                    if pool.query.id != q:
                        continue
                    pids = [p.id for p in pool.papers]
                    with swapped(M.LIKED, part, model):
                        p, allowed = rankers[k].probabilities([liked_profiles[k]])
                    cv_rankings.append((k, order(pids, p[0].astype(np.float64), allowed[0])))
                    with swapped(M.LIKED, part, liked[part]):
                        p, allowed = rankers[k].probabilities([liked_profiles[k]])
                    inside_rankings.append((k, order(pids, p[0].astype(np.float64), allowed[0])))
            cv_sorted = [r for _, r in sorted(cv_rankings)]
            inside_sorted = [r for _, r in sorted(inside_rankings)]
            report_csf_fit(part, pools, cv_sorted, inside_sorted)
    print("Fitted constants (pasted into newsletter/matching/model.py):\n")
    for part, m in text.items():
        print(f'    TEXT["{part}"] = Logistic({m.intercept}, {m.weights})')
    for part, m in liked.items():
        print(f'    LIKED["{part}"] = Logistic({m.intercept}, {m.weights})')
    print()


def _run(ids: list[str], p: NDArray, allowed: NDArray, grades: dict[str, int]) -> tuple:
    scores = p.astype(np.float64)
    return (order(ids, scores, allowed), dict(zip(ids, scores.tolist(), strict=True)), grades)


def report_dev_fit(part: str, cv: list, inside: list) -> None:
    n_cv = np.mean([ndcg_at(r, g) for r, _, g in cv])
    n_in = np.mean([ndcg_at(r, g) for r, _, g in inside])
    print(f"text channel, {part}: nDCG@10 leave-one-interest-out {n_cv:.3f}, in-sample {n_in:.3f}")
    print("\n| threshold | LOIO precision (macro) | LOIO recall (grade 2) | LOIO size | empty "
          "| in-sample precision | in-sample recall |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for tau in (0.3, 0.4, 0.45, 0.5, 0.525, 0.55, 0.575, 0.6, 0.625, 0.65, 0.7, 0.8):
        a, b = included(cv, tau), included(inside, tau)
        print(f"| {tau:.3f} | {a.precision:.3f} ({a.macro_precision:.3f}) | {a.recall:.3f} "
              f"| {a.size:.1f} | {a.empty} | {b.precision:.3f} | {b.recall:.3f} |")  # fmt: skip
    print()


def report_csf_fit(
    part: str, pools: list[Pool], cv: list[list[str]], inside: list[list[str]]
) -> None:
    def score(rankings: list[list[str]]) -> tuple[float, float]:
        nd = [csf_ndcg20(r, p.grades) for r, p in zip(rankings, pools, strict=True)]
        ap = [csf_ap(r, p.grades) for r, p in zip(rankings, pools, strict=True)]
        return 100 * float(np.mean(nd)), 100 * float(np.mean(ap))

    (a, b), (c, d) = score(cv), score(inside)
    print(f"liked channel, {part}: NDCG%20 / MAP leave-one-query-out {a:.1f} / {b:.1f}, "
          f"in-sample {c:.1f} / {d:.1f}\n")  # fmt: skip


# -- main -------------------------------------------------------------------------------


def csfcube_missing(given: Path | None) -> str:
    looked = [given] if given is not None else csfcube_places(ROOT)
    return (
        f"CSFCube half not found (no papers.jsonl in {' or '.join(map(str, looked))}): "
        "its figures and the liked channel's fit are skipped; give --csfcube DIR."
    )


def small(
    papers: list[Paper], interests: list, pools: list[Pool] | None
) -> tuple[list[Paper], list, list[Pool] | None]:
    """A few interests over a few papers (their relevant ones first), and one CSFCube query
    with a few candidates per facet: every code path, in seconds."""
    wanted = {pid for _, _, grades in interests[:SMALL_INTERESTS] for pid, g in grades.items() if g}
    chosen = sorted(papers, key=lambda p: p.id not in wanted)[:SMALL_PAPERS]
    kept = {p.id for p in chosen}
    interests = [
        (iid, profile, {pid: g for pid, g in grades.items() if pid in kept})
        for iid, profile, grades in interests[:SMALL_INTERESTS]
    ]
    if pools is not None:  # the first query-facet pair of each facet
        pools = [_few(next(pool for pool in pools if pool.facet == f)) for f in FACETS]
    return chosen, interests, pools


def _few(pool: Pool) -> Pool:
    """Half the candidates the best graded (so a fit sees both classes), half the first."""
    half = SMALL_CANDIDATES // 2
    best = sorted(pool.papers, key=lambda p: -pool.grades[p.id])[:half]
    rest = [p for p in pool.papers if p not in best][: SMALL_CANDIDATES - half]
    return replace(pool, papers=best + rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-interest", action="store_true")
    parser.add_argument("--fit", action="store_true", help="fit the weights again, with CV")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="sentence-transformers model")
    parser.add_argument("--embedding-cache", type=Path, help=".npz keeping vectors across runs")
    parser.add_argument(
        "--csfcube", type=Path, default=CSFCUBE, help="default: ../shared/data/csfcube_dev"
    )
    parser.add_argument(
        "--small", action="store_true",
        help=f"a smoke test: {SMALL_INTERESTS} interests x {SMALL_PAPERS} papers, "
        f"a CSFCube query-facet pair per facet with {SMALL_CANDIDATES} candidates",
    )  # fmt: skip
    args = parser.parse_args()
    from newsletter.matching.embedding import SentenceTransformerEmbedder

    started = time.perf_counter()
    memo = FileMemo(SentenceTransformerEmbedder(args.model), args.embedding_cache)
    try:
        papers = load_pool()
        interests = load_interests()
        pools = None
        if args.csfcube is not None and (args.csfcube / "papers.jsonl").is_file():
            pools = load_csfcube(args.csfcube)
        else:
            print(csfcube_missing(args.csfcube) + "\n")
        if args.small:
            papers, interests, pools = small(papers, interests, pools)
        if args.fit:
            fit(papers, interests, memo, pools)
        cache = MemoryEmbeddingCache()
        results = {
            "tfidf": dev_tfidf(papers, interests, rules=False),
            "tfidf + rules": dev_tfidf(papers, interests, rules=True),
        }
        for part in PARTS:
            ranker = Ranker(
                papers, embedder=memo if part != "lexical" else None,  # type: ignore[arg-type]
                cache=cache, weights=replace(Weights(), signals=part),
            )  # fmt: skip
            results[part] = dev_model(ranker, interests)
        print_dev(results, interests, len(papers), args.per_interest)
        if pools is not None:
            print_csf(pools, csf_rankings(pools, memo, PARTS))
    finally:
        memo.save()
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
