"""A subscriber's papers outside the mailbox: the personal Atom feed and "view in browser".

Both show what was queued for the subscriber (the outbox), never a fresh ranking: the feed
has one entry per paper of the latest digests (a topic's feed: the papers chosen for that
topic), the browser view one day's digest in full.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.orm import Session

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.outbox import ClaimedDigest, subscriber_digest, subscriber_digests
from newsletter.db.papers import papers_by_id
from newsletter.delivery.compose import Composer, queued_digest
from newsletter.domain import Paper
from newsletter.normalize import paper_page
from newsletter.web.errors import PageError

ATOM = "http://www.w3.org/2005/Atom"
# No size budget in the browser: this page is where a mail that had to drop papers sends you.
BROWSER_HTML_BYTES = 10_000_000


def atom_feed(
    *, feed_id: str, title: str, self_url: str, digests: Sequence[ClaimedDigest],
    papers: dict[str, Paper], now: datetime,
) -> bytes:  # fmt: skip
    """Atom (RFC 4287): one entry per paper, newest digest first. ElementTree escapes."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    updated = digests[0].created_at if digests else now
    _text(feed, "updated", updated.isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", title)
    seen: set[str] = set()
    for digest in digests:
        for item in digest.content:
            paper = papers.get(item["id"])
            if paper is None or paper.id in seen:
                continue
            seen.add(paper.id)
            _entry(feed, paper, why=item.get("why") or [], updated=digest.created_at)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


def _entry(feed: ET.Element, paper: Paper, *, why: list[str], updated: datetime) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", f"urn:arxiv:{paper.id}")
    _text(entry, "title", paper.title)
    _text(entry, "updated", updated.isoformat())
    url = paper.abs_url or paper_page(paper.id)
    if url:
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=url)
    else:  # a paper from a file with no page (`local:`): Atom then wants the text itself
        _text(entry, "content", paper.abstract).set("type", "text")
    for name in paper.authors[:20] or ("Unknown",):
        _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", name)
    for category in paper.categories:
        ET.SubElement(entry, f"{{{ATOM}}}category", term=category)
    summary = paper.abstract if not why else f"{'; '.join(why)}\n\n{paper.abstract}"
    _text(entry, "summary", summary)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    # XML 1.0 has no place for most control characters; a stray one would break the feed.
    clean = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20)
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = clean
    return element


def personal_feed(
    session: Session,
    row: SubscriberRow,
    *,
    base_url: str,
    list_name: str,
    self_url: str,
    digests: int,
    now: datetime,
    topic: InterestProfileRow | None = None,
) -> bytes:
    """The subscriber's Atom feed: the papers of their latest `digests` digests, or only
    those chosen for `topic` (a paper queued before topics counts as the first topic's)."""
    latest = subscriber_digests(session, subscriber=row, limit=digests)
    feed_id, title = f"{base_url}/feed/{row.id}", f"{list_name}: your papers"
    if topic is not None:
        first = row.profile.id if row.profile is not None else topic.id
        latest = [
            replace(d, content=[i for i in d.content if i.get("topic", first) == topic.id])
            for d in latest
        ]
        feed_id, title = f"{feed_id}/topics/{topic.id}", f"{list_name}: {topic.name}"
    ids = sorted({item["id"] for d in latest for item in d.content})
    return atom_feed(
        feed_id=feed_id,
        title=title,
        self_url=self_url,
        digests=latest,
        papers=papers_by_id(session, ids),
        now=now,
    )


def digest_html(
    session: Session, row: SubscriberRow, extra: tuple[object, ...], composer: Composer
) -> str:
    """The digest of the day a "view in browser" link names (in the token's `extra`),
    rendered as mailed but with every paper; PageError when there is none."""
    digest = subscriber_digest(session, subscriber=row, day=_day(extra))
    if digest is None:
        raise PageError(404, "No digest that day", "Nothing was sent to you that day.")
    papers = papers_by_id(session, digest.paper_ids)
    return composer.render(queued_digest(digest, papers), max_html_bytes=BROWSER_HTML_BYTES).html


def _day(extra: tuple[object, ...]) -> date:
    try:
        return date.fromisoformat(str(extra[0]))
    except (IndexError, ValueError):
        raise PageError(400, "This link is not valid", "It names no day.") from None
