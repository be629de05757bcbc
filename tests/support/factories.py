"""Small builders for domain objects used across tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from newsletter.domain import AnnounceType, HuggingFaceExtras, Paper, Source


def arxiv_paper(paper_id: str = "2508.13167", version: int = 1, **changes: Any) -> Paper:
    fields: dict[str, Any] = {
        "id": paper_id,
        "version": version,
        "title": "Chain-of-Agents: End-to-End Agent Foundation Models",
        "abstract": "Recent advances in large language models.",
        "sources": (Source.ARXIV_LISTING,),
        "authors": ("Weizhen Li", "Jianbo Lin"),
        "categories": ("cs.AI", "cs.CL"),
        "primary_category": "cs.AI",
        "announce_type": AnnounceType.NEW,
        "announced_on": date(2025, 8, 20),
        "abs_url": f"https://arxiv.org/abs/{paper_id}",
        "pdf_url": f"https://arxiv.org/pdf/{paper_id}",
    }
    fields.update(changes)
    return Paper(**fields)


def hf_paper(paper_id: str = "2508.13167", upvotes: int = 12, **changes: Any) -> Paper:
    fields: dict[str, Any] = {
        "id": paper_id,
        "title": "Chain-of-Agents: End-to-End Agent Foundation Models",
        "abstract": "Recent advances in large language models (HF copy).",
        "sources": (Source.HUGGING_FACE,),
        "authors": ("Weizhen Li",),
        "published_at": datetime(2025, 8, 19, 17, 0, tzinfo=UTC),
        "abs_url": f"https://arxiv.org/abs/{paper_id}",
        "hf": HuggingFaceExtras(
            upvotes=upvotes,
            ai_summary="Agents in one model.",
            ai_keywords=("agents", "distillation"),
            github_repo="https://github.com/example/coa",
            github_stars=3,
            daily_date=date(2025, 8, 20),
        ),
    }
    fields.update(changes)
    return Paper(**fields)
