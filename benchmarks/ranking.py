"""Ranking quality on the labelled development set (benchmarks/devset): nDCG@10 and P@5.

Systems, each ranking all 205 papers for each of the 12 interests:
- tfidf: cosine between TF-IDF vectors (1-2-grams, sublinear tf) of the interest text and of
  title + abstract, like arxiv-sanity; "tfidf + rules" also applies the profile's hard rules
  (excluded terms, category filter) so the rules' share of any gain is visible;
- lexical: the service's ranker without embeddings (BM25F, phrases, boosts, rules);
- semantic: the service's ranker with the embedding similarity alone as text relevance;
- hybrid: the service's ranker as it runs (both, fused).

    .venv/bin/python benchmarks/ranking.py [--per-interest] [--model NAME_OR_PATH]
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from newsletter.domain import InterestProfile, Paper
from newsletter.matching.embedding import SentenceTransformerEmbedder
from newsletter.matching.exclusions import excluding_term
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker, Weights
from newsletter.matching.semantic import MemoryEmbeddingCache, profile_text
from newsletter.sources.files import parse_file_bytes

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "benchmarks/devset"
POOL = ["seed_papers.jsonl", "arxiv_listing_atom_cs.AI_2025-08-20.xml"]
NO_THRESHOLD = -1e9

Ranking = Callable[[InterestProfile], list[str]]


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


def ndcg_at(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    def dcg(gains: Sequence[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(pid, 0) for pid in ranked]) / ideal if ideal else 0.0


def precision_at(ranked: Sequence[str], grades: dict[str, int], k: int = 5) -> float:
    return sum(grades.get(pid, 0) > 0 for pid in ranked[:k]) / k


def tfidf_system(papers: list[Paper], *, rules: bool) -> Ranking:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    matrix = vectorizer.fit_transform([f"{p.title}. {p.abstract}" for p in papers])

    def rank(profile: InterestProfile) -> list[str]:
        query = vectorizer.transform([profile_text(profile)])
        scores = (matrix @ query.T).toarray().ravel()
        order = np.lexsort((np.array([p.id for p in papers]), -scores))
        ranked = [papers[i] for i in order]
        if rules:
            ranked = [p for p in ranked if _passes_rules(p, profile)]
        return [p.id for p in ranked[:10]]

    return rank


def _passes_rules(paper: Paper, profile: InterestProfile) -> bool:
    if excluding_term(paper, profile.exclude):
        return False
    if profile.category_mode == "filter" and profile.categories:
        return any(c in paper.categories for c in profile.categories)
    return True


def ranker_system(ranker: Ranker) -> Ranking:
    return lambda profile: [m.paper.id for m in ranker.rank(profile, limit=10)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-interest", action="store_true")
    parser.add_argument(
        "--model", default="all-MiniLM-L6-v2", help="sentence-transformers model name or path"
    )
    args = parser.parse_args()
    papers = load_pool()
    interests = load_interests()
    embedder = SentenceTransformerEmbedder(args.model)
    cache = MemoryEmbeddingCache()
    open_weights = replace(Weights(), min_score=NO_THRESHOLD)  # rank everything, keep rules
    systems: dict[str, Ranking] = {
        "tfidf": tfidf_system(papers, rules=False),
        "tfidf + rules": tfidf_system(papers, rules=True),
        "lexical": ranker_system(Ranker(papers, weights=open_weights)),
        "semantic": ranker_system(
            Ranker(
                papers,
                embedder=embedder,
                cache=cache,
                weights=replace(open_weights, semantic_share=1.0),
            )
        ),
        "hybrid": ranker_system(
            Ranker(papers, embedder=embedder, cache=cache, weights=open_weights)
        ),
    }
    print(f"{len(interests)} interests x {len(papers)} papers\n")
    print("| system | nDCG@10 | P@5 |\n|---|---|---|")
    for name, system in systems.items():
        ndcgs, precisions = [], []
        for interest_id, profile, grades in interests:
            ranked = system(profile)
            ndcgs.append(ndcg_at(ranked, grades))
            precisions.append(precision_at(ranked, grades))
            if args.per_interest:
                print(f"|   {name} {interest_id} | {ndcgs[-1]:.3f} | {precisions[-1]:.2f} |")
        print(f"| {name} | {np.mean(ndcgs):.3f} | {np.mean(precisions):.3f} |")


if __name__ == "__main__":
    main()
