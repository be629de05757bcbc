"""Per-reader learning on top of the global ranker: a small logistic model per reader, fitted
from their votes, ratings and library (`model`), scored for many readers at once (`batch`),
explained by the examples that pushed a paper up (`explain`), and the papers worth rating
first (`onboarding`). Pure: vectors and prior logits in, numbers out; storage is the caller's.
"""
