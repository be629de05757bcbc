"""Writes grading_sheet.txt: the 205 papers of the development set as graders saw them.

The pool is the two recorded files in tests/data (119 seed papers from a Hugging Face
Papers page, 86 entries of the 2025-08-20 cs.AI listing), parsed by the service itself
so ids match what `newsletter rank` prints.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.sources.files import parse_file_bytes

ROOT = Path(__file__).resolve().parents[2]
POOL = ["seed_papers.jsonl", "arxiv_listing_atom_cs.AI_2025-08-20.xml"]


def main() -> None:
    blocks = []
    for name in POOL:
        for p in parse_file_bytes((ROOT / "tests/data" / name).read_bytes(), what=name).papers:
            blocks.append(
                f"### {p.id}\nTitle: {p.title}\nCategories: {' '.join(p.categories) or '(none)'}\n"
                f"Authors: {', '.join(p.authors) or '(unknown)'}\nAbstract: {p.abstract}\n"
            )
    (Path(__file__).parent / "grading_sheet.txt").write_text("\n".join(blocks))
    print(f"{len(blocks)} papers")


if __name__ == "__main__":
    main()
