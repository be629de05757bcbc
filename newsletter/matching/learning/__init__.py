"""Per-reader learning on top of the global ranker: a small logistic model per reader, fitted
from their votes, ratings and library (`model`; from papers and a profile: `examples`),
scored for many readers at once (`batch`, applied inside `Ranker.rank_many` by `apply`),
explained by the examples that pushed a paper up (`explain`, `notes`), and the papers worth
rating first (`onboarding`). Pure: papers, vectors and prior logits in, numbers and bytes
out; storage is the caller's.
"""
