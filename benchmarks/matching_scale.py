"""Matching at scale: synthetic subscribers x 1,000 papers, wall time and peak RSS.

Ranks N synthetic interest profiles (100k and 1M by default) against 1,000 papers with
`Ranker.rank_many(..., limit=10, explain_matches=False)`, consuming every result, for:

- lexical: `Ranker(papers)`, BM25F only (a sparse matrix product per chunk of profiles);
- hybrid: `Ranker(papers, embedder=HashingEmbedder())`, BM25F fused with embedding
  similarity (a dense matrix product per chunk).

`HashingEmbedder` is NOT a language model: it hashes the stems of a text into 4,096 signed
buckets and projects them to 384 dimensions with a fixed random matrix (L2-normalised), so
it is fast and deterministic and the hybrid rows measure the ranker's matrix work, not a
neural network. In production the vectors come from the packaged all-MiniLM-L6-v2: papers
once a day, through the embedding cache, and (as the ranker stands) profile facets on each
`rank_many` call. The model's own cost is timed separately, once, on the same 1,000 papers
and on the facets of 1,000 synthetic profiles, when it is installed.

Papers: the 205 recorded papers of tests/data (seed_papers.jsonl and the cs.AI listing)
replicated under new ids (``bench.00001``...), each copy with its abstract's sentences
shuffled and one dropped, and arXiv categories drawn from a realistic set. Profiles are
generated lazily from a seeded `random.Random` (never a list), so that memory can only
grow with the chunk size: a 5-15 word description drawn from the papers' vocabulary, 0-4
keywords (some 2-3 word phrases from titles), 0-2 excluded terms, 0-2 categories (10% of
those in filter mode) and, for 10%, one author of the papers.

Each configuration runs in a fresh process, so its peak RSS (``ru_maxrss``; MB = 2**20
bytes) is its own; "index RSS" is the peak once the papers are loaded and indexed, so the
growth with the number of subscribers is peak minus that. "seconds" is the wall time to
consume `rank_many`, which pulls the profiles from the generator; "generation s" is the
part of it spent making and validating the synthetic profiles (in the service they come
from the database), and "ranking s" is the rest. The ranker's caches (phrase features,
excluded-term and author masks) fill as new terms appear, so the first chunks are slow:
"steady profiles/s" is the rate over the second half of the profiles, and "warm-up s" the
time beyond what the whole run would have taken at that rate.

    .venv/bin/python benchmarks/matching_scale.py            # 100k and 1M, both modes
    .venv/bin/python benchmarks/matching_scale.py --quick    # 10k profiles, a smoke run
    .venv/bin/python benchmarks/matching_scale.py --profiles 100000 --mode lexical \
        --cprofile /tmp/matching   # also cProfile the ranking: /tmp/matching.lexical-100000.prof
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import dataclasses
import hashlib
import json
import pstats
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from newsletter.domain import CategoryMode, InterestProfile, Paper
from newsletter.matching.profile import build_profile
from newsletter.matching.ranker import Ranker
from newsletter.matching.semantic import Embedder, paper_text, profile_facets
from newsletter.matching.text import STOP_WORDS, stem
from newsletter.sources.files import parse_file_bytes

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ["seed_papers.jsonl", "arxiv_listing_atom_cs.AI_2025-08-20.xml"]
PAPERS = 1_000
DEFAULT_PROFILES = [100_000, 1_000_000]
QUICK_PROFILES = [10_000]
MODES = ["lexical", "hybrid"]
LIMIT = 10
RESULT_MARK = "RESULT "

# arXiv categories of an AI/ML-heavy daily listing, with rough relative frequencies.
CATEGORIES: dict[str, int] = {
    "cs.AI": 30,
    "cs.LG": 30,
    "cs.CL": 18,
    "cs.CV": 18,
    "stat.ML": 8,
    "cs.RO": 6,
    "cs.IR": 5,
    "cs.CR": 5,
    "cs.HC": 4,
    "cs.CY": 4,
    "cs.MA": 3,
    "cs.NE": 3,
    "cs.SE": 3,
    "math.OC": 3,
    "eess.IV": 3,
    "eess.SP": 2,
    "cs.DB": 2,
    "cs.DC": 2,
    "cs.AR": 2,
    "q-bio.QM": 1,
    "q-fin.CP": 1,
    "cond-mat.mtrl-sci": 1,
}

_WORD = re.compile(r"[^\W_]+")
_VOCAB_WORD = re.compile(r"[a-z][a-z-]*[a-z]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")

Vectors = NDArray[np.float32]


# --- the stand-in embedder -------------------------------------------------------------


class HashingEmbedder:
    """A benchmark-only `Embedder`: a hashed bag of stems, randomly projected. NOT a model.

    Each content word's stem goes to one of `buckets` signed buckets (a stable hash, not
    Python's per-process `hash`), and the bag is multiplied by a fixed Gaussian
    `buckets x dims` matrix, then L2-normalised. Deterministic and cheap, so a hybrid run
    times the ranker's dense matrix work; production embeds with all-MiniLM-L6-v2.
    """

    name = "bench-hashing-bag-384"

    def __init__(self, *, dims: int = 384, buckets: int = 4_096, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self._projection = (rng.standard_normal((buckets, dims)) / np.sqrt(dims)).astype(np.float32)
        self._buckets = buckets
        self._slots: dict[str, tuple[int, float]] = {}

    def _slot(self, word: str) -> tuple[int, float]:
        slot = self._slots.get(word)
        if slot is None:
            digest = hashlib.blake2b(stem(word).encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            slot = (value % self._buckets, 1.0 if (value >> 40) & 1 else -1.0)
            self._slots[word] = slot
        return slot

    def embed(self, texts: Sequence[str]) -> Vectors:
        cols: list[int] = []
        data: list[float] = []
        indptr = [0]
        for text in texts:
            for word in _WORD.findall(text.casefold()):
                if word not in STOP_WORDS:
                    col, sign = self._slot(word)
                    cols.append(col)
                    data.append(sign)
            indptr.append(len(cols))
        shape = (len(texts), self._buckets)
        bag = sp.csr_matrix((np.asarray(data, np.float32), cols, indptr), shape=shape)
        vectors = np.asarray(bag @ self._projection, np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), np.float32)


# --- papers ------------------------------------------------------------------------------


def recorded_papers() -> list[Paper]:
    papers: list[Paper] = []
    for name in RECORDED:
        data = (ROOT / "tests/data" / name).read_bytes()
        papers += parse_file_bytes(data, what=name).papers
    return papers


def _vary(abstract: str, rng: random.Random) -> str:
    """The same abstract with its sentences shuffled and (from three on) one dropped."""
    sentences = _SENTENCE_END.split(abstract)
    if len(sentences) < 2:
        words = abstract.split()
        if len(words) > 1:
            del words[rng.randrange(len(words))]
        return " ".join(words)
    if len(sentences) >= 3:
        del sentences[rng.randrange(len(sentences))]
    original = list(sentences)
    rng.shuffle(sentences)
    if sentences == original:
        sentences.reverse()
    return " ".join(sentences)


def _categories(rng: random.Random) -> tuple[str, ...]:
    names = list(CATEGORIES)
    primary = rng.choices(names, weights=list(CATEGORIES.values()))[0]
    others = [name for name in names if name != primary]
    cross = rng.sample(others, k=rng.choice([0, 0, 1, 1, 1, 2]))
    return (primary, *cross)


def bench_papers(count: int = PAPERS, *, seed: int = 0) -> list[Paper]:
    """`count` papers: the recorded ones, copied under new ids with varied abstracts."""
    base = recorded_papers()
    rng = random.Random(seed)
    papers: list[Paper] = []
    seen: set[str] = set()
    for n in range(count):
        source = base[n % len(base)]
        copy = n // len(base)
        categories = _categories(rng)
        abstract = source.abstract if copy == 0 else _vary(source.abstract, rng)
        while abstract in seen and len(abstract.split()) > 1:  # two-sentence abstracts
            words = abstract.split()
            del words[rng.randrange(len(words))]
            abstract = " ".join(words)
        seen.add(abstract)
        papers.append(
            dataclasses.replace(
                source,
                id=f"bench.{n + 1:05d}",
                abstract=abstract,
                categories=categories,
                primary_category=categories[0],
                abs_url=None,
                pdf_url=None,
            )
        )
    return papers


# --- profiles ----------------------------------------------------------------------------


@dataclass
class ProfileGenerator:
    """Deterministic synthetic profiles drawn from the papers' own words, made lazily.

    `seconds` accumulates the time spent making and validating them, so that it can be
    told apart from the ranker's time when `rank_many` pulls from `profiles`.
    """

    papers: Sequence[Paper]
    seed: int = 1
    seconds: float = 0.0
    _words: list[str] = field(init=False)
    _cumulative: list[int] = field(init=False)
    _rare: list[str] = field(init=False)
    _phrases: list[str] = field(init=False)
    _authors: list[str] = field(init=False)

    def __post_init__(self) -> None:
        counts: Counter[str] = Counter()
        papers_with: Counter[str] = Counter()
        phrases: dict[str, None] = {}
        for paper in self.papers:
            words = self._content_words(f"{paper.title} {paper.abstract}")
            counts.update(words)
            papers_with.update(set(words))
            title = _WORD.findall(paper.title)
            for size in (2, 3):
                for start in range(len(title) - size + 1):
                    window = title[start : start + size]
                    ends = (window[0].casefold(), window[-1].casefold())
                    if all(w.isalpha() and len(w) > 1 for w in window) and not (
                        ends[0] in STOP_WORDS or ends[1] in STOP_WORDS
                    ):
                        phrases[" ".join(window).casefold()] = None
        self._words = sorted(counts)
        self._cumulative = list(accumulate(counts[w] for w in self._words))
        # Excluded terms are specific: words in at most 1% of the papers.
        self._rare = [w for w in self._words if papers_with[w] <= len(self.papers) // 100]
        self._phrases = list(phrases)
        self._authors = sorted({a for p in self.papers for a in p.authors})

    @staticmethod
    def _content_words(text: str) -> list[str]:
        return [
            w for w in _VOCAB_WORD.findall(text.casefold()) if len(w) >= 3 and w not in STOP_WORDS
        ]

    def _frequent_words(self, rng: random.Random, k: int) -> list[str]:
        total = self._cumulative[-1]
        return [
            self._words[bisect.bisect_right(self._cumulative, rng.random() * total)]
            for _ in range(k)
        ]

    def make(self, rng: random.Random) -> InterestProfile:
        description = " ".join(self._frequent_words(rng, rng.randint(5, 15)))
        keywords = [
            rng.choice(self._phrases) if rng.random() < 0.35 else self._frequent_words(rng, 1)[0]
            for _ in range(rng.randint(0, 4))
        ]
        exclude = rng.sample(self._rare, k=rng.choice([0, 0, 0, 1, 1, 2]))
        categories = rng.choices(
            list(CATEGORIES), weights=list(CATEGORIES.values()), k=rng.choice([0, 0, 1, 1, 2])
        )
        filtered = bool(categories) and rng.random() < 0.1
        authors = [rng.choice(self._authors)] if rng.random() < 0.1 else []
        return build_profile(
            description=description,
            keywords=keywords,
            exclude=exclude,
            categories=categories,
            category_mode=CategoryMode.FILTER if filtered else CategoryMode.BOOST,
            authors=authors,
        )

    def profiles(self, count: int) -> Iterator[tuple[int, InterestProfile]]:
        """(subscriber number, profile) for `count` subscribers; a generator, never a list."""
        rng = random.Random(self.seed)
        for key in range(count):
            started = time.perf_counter()
            profile = self.make(rng)
            self.seconds += time.perf_counter() - started
            yield key, profile


# --- measurement (each configuration in its own process) ----------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def hwm_rss_mb() -> float | None:
    """VmHWM: the peak of this address space alone (ru_maxrss may inherit the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_configuration(
    mode: str, count: int, *, chunk_size: int, seed: int, cprofile: str | None
) -> dict[str, Any]:
    started = time.perf_counter()
    papers = bench_papers(seed=seed)
    embedder: Embedder | None = HashingEmbedder() if mode == "hybrid" else None
    ranker = Ranker(papers, embedder=embedder)
    generator = ProfileGenerator(papers, seed=seed + 1)
    build_seconds = time.perf_counter() - started
    index_rss = peak_rss_mb()

    profiled = 0
    matches = 0
    step = max(count // 10, 1)
    profiler = cProfile.Profile() if cprofile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    results = ranker.rank_many(
        generator.profiles(count), limit=LIMIT, chunk_size=chunk_size, explain_matches=False
    )
    half_seconds = 0.0
    for _, found in results:
        profiled += 1
        matches += len(found)
        if profiled == count // 2:
            half_seconds = time.perf_counter() - started
        if profiled % step == 0:
            elapsed = time.perf_counter() - started
            print(f"  {mode} {profiled:,}/{count:,} in {elapsed:.1f} s", file=sys.stderr)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started

    result: dict[str, Any] = {
        "mode": mode,
        "profiles": profiled,
        "papers": len(papers),
        "chunk_size": chunk_size,
        "build_seconds": build_seconds,
        "seconds": seconds,
        "half_seconds": half_seconds,
        "generation_seconds": generator.seconds,
        "matches": matches,
        "index_rss_mb": index_rss,
        "peak_rss_mb": peak_rss_mb(),
        "vm_hwm_mb": hwm_rss_mb(),
        "profiled": profiler is not None,
    }
    if profiler is not None and cprofile:
        path = f"{cprofile}.{mode}-{count}.prof"
        profiler.dump_stats(path)
        result["cprofile"] = path
    return result


def run_minilm(*, seed: int) -> dict[str, Any]:
    """Seconds per 1,000 papers (and per 1,000 profiles' facets) with the real model."""
    try:
        from newsletter.matching.embedding import SentenceTransformerEmbedder

        started = time.perf_counter()
        model = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
        load_seconds = time.perf_counter() - started
    except Exception as exc:  # ImportError, or a model that cannot be loaded offline
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    papers = bench_papers(seed=seed)
    texts = [paper_text(p) for p in papers]
    model.embed(texts[:32])  # warm-up
    started = time.perf_counter()
    model.embed(texts)
    paper_seconds = time.perf_counter() - started
    generator = ProfileGenerator(papers, seed=seed + 1)
    facets = [t for _, p in generator.profiles(1_000) for t in profile_facets(p)]
    started = time.perf_counter()
    model.embed(facets)
    facet_seconds = time.perf_counter() - started
    return {
        "available": True,
        "load_seconds": load_seconds,
        "papers": len(texts),
        "paper_seconds": paper_seconds,
        "profile_facets": len(facets),
        "profile_seconds": facet_seconds,
    }


def in_subprocess(arguments: list[str], *, script: str = __file__) -> dict[str, Any]:
    """Run `script` (this one) with `arguments` in a fresh interpreter (its own peak
    memory); its RESULT line, parsed."""
    command = [sys.executable, str(Path(script).resolve()), *arguments]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_MARK))
            return result
    raise RuntimeError(f"no result from {' '.join(arguments)}")


# --- report ------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | profiles | papers | seconds | profiles/s | generation s | ranking s "
        "| steady profiles/s | warm-up s | matches/profile | index RSS MB | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        ranking = r["seconds"] - r["generation_seconds"]
        second_half = r["profiles"] - r["profiles"] // 2
        steady = second_half / max(r["seconds"] - r["half_seconds"], 1e-9)
        mode = r["mode"] + (" (cProfile)" if r["profiled"] else "")
        lines.append(
            f"| {mode} | {r['profiles']:,} | {r['papers']:,} | {r['seconds']:.1f} "
            f"| {r['profiles'] / r['seconds']:,.0f} | {r['generation_seconds']:.1f} "
            f"| {ranking:.1f} | {steady:,.0f} | {r['seconds'] - r['profiles'] / steady:.0f} "
            f"| {r['matches'] / max(r['profiles'], 1):.2f} "
            f"| {r['index_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def minilm_line(result: dict[str, Any]) -> str:
    if not result.get("available"):
        return f"MiniLM (all-MiniLM-L6-v2): not measured ({result.get('reason', 'skipped')})"
    per_papers = result["paper_seconds"] * 1_000 / result["papers"]
    return (
        f"MiniLM (all-MiniLM-L6-v2, CPU): {per_papers:.1f} s per 1,000 papers "
        f"(title + abstract, once a day); {result['profile_seconds']:.1f} s for the "
        f"{result['profile_facets']:,} facets of 1,000 synthetic profiles; "
        f"model load {result['load_seconds']:.1f} s"
    )


def hotspots(path: str, *, top: int = 15) -> str:
    """The functions of newsletter/matching with the most cumulative time, as a table."""
    stats = pstats.Stats(path)
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    rows = sorted(
        (
            (cumulative, own, calls, f"{Path(file).name}:{line}({name})")
            for (file, line, name), (_, calls, own, cumulative, _) in entries.items()
            if "newsletter/matching" in file
        ),
        reverse=True,
    )[:top]
    lines = [
        f"cProfile of {path} (total {total:.1f} s)",
        "| function | calls | own s | cumulative s | share |",
        "|---|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {where} | {calls:,} | {own:.2f} | {cum:.2f} | {cum / total:.0%} |"
        for cum, own, calls, where in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, nargs="+", default=DEFAULT_PROFILES)
    parser.add_argument("--mode", nargs="+", choices=MODES, default=MODES)
    parser.add_argument("--chunk-size", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="10k profiles: a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-minilm", action="store_true", help="skip the MiniLM timing")
    parser.add_argument(
        "--cprofile", metavar="PREFIX", help="cProfile each run into PREFIX.MODE-N.prof"
    )
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-minilm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        mode, count = args.worker[0], int(args.worker[1])
        result = run_configuration(
            mode, count, chunk_size=args.chunk_size, seed=args.seed, cprofile=args.cprofile
        )
        print(RESULT_MARK + json.dumps(result), flush=True)
        return
    if args.worker_minilm:
        print(RESULT_MARK + json.dumps(run_minilm(seed=args.seed)), flush=True)
        return

    counts = QUICK_PROFILES if args.quick else args.profiles
    common = ["--chunk-size", str(args.chunk_size), "--seed", str(args.seed)]
    if args.cprofile:
        common += ["--cprofile", args.cprofile]
    results: list[dict[str, Any]] = []
    for mode in args.mode:
        for count in counts:
            print(f"{mode} x {count:,} profiles ...", file=sys.stderr, flush=True)
            results.append(in_subprocess(["--worker", mode, str(count), *common]))
    minilm: dict[str, Any] = {"available": False, "reason": "--no-minilm"}
    if not args.no_minilm:
        print("MiniLM timing ...", file=sys.stderr, flush=True)
        minilm = in_subprocess(["--worker-minilm", "--seed", str(args.seed)])

    print(f"\n{PAPERS:,} papers, limit {LIMIT}, chunk size {args.chunk_size}\n")
    print(table(results))
    print()
    print(minilm_line(minilm))
    for result in results:
        if "cprofile" in result:
            print()
            print(hotspots(result["cprofile"]))


if __name__ == "__main__":
    main()
