"""From a digest's matches to the bytes on the wire: render, build the MIME message, sign.

The Composer takes plain values (who, which day, which matches), so a queued digest, a
preview and the browser view all render the same way; `queued_digest` reads an outbox row
into those values once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from newsletter.db.outbox import ClaimedDigest, decode_matches, decode_topics
from newsletter.delivery.message import DkimSigner, MailIdentity, build_message
from newsletter.domain import Match, Paper, TopicTag
from newsletter.mail.links import Links, Recipient
from newsletter.mail.render import (
    MAX_HTML_BYTES,
    DigestLinks,
    Masthead,
    RenderedEmail,
    render_digest,
    render_quiet_day,
)


@dataclass(frozen=True, slots=True)
class Digest:
    """One reader's digest for one day: the matches in the order they are shown, and the
    topic each was chosen for (same order; empty or None: no topic named)."""

    recipient: Recipient
    email: str
    day: date
    matches: Sequence[Match]
    topics: Sequence[TopicTag | None] = ()


def queued_digest(row: ClaimedDigest, papers: Mapping[str, Paper]) -> Digest:
    """The digest an outbox row holds; papers deleted since it was queued are left out."""
    return Digest(
        recipient=Recipient(row.subscriber_id, row.token_key),
        email=row.email,
        day=row.digest_date,
        matches=decode_matches(row.content, papers),
        topics=decode_topics(row.content, papers),
    )


@dataclass(frozen=True)
class Composer:
    identity: MailIdentity
    links: Links
    masthead: Masthead
    max_papers: int
    dkim: DkimSigner | None = None

    def render(self, digest: Digest, *, max_html_bytes: int = MAX_HTML_BYTES) -> RenderedEmail:
        """The digest as mailed, or (with a larger `max_html_bytes`) as the browser shows
        it: every paper, where the mail had to leave some out to stay under Gmail's clip."""
        matches = list(digest.matches[: self.max_papers])
        return self._render(digest, matches, self._links(digest, matches), max_html_bytes)

    def compose(self, digest: Digest, *, message_id: str, now: datetime) -> bytes:
        matches = list(digest.matches[: self.max_papers])
        links = self._links(digest, matches)  # signed once: the body and the header share them
        data = build_message(
            rendered=self._render(digest, matches, links),
            identity=self.identity,
            recipient=digest.email,
            message_id=message_id,
            unsubscribe_url=links.unsubscribe,
            sent_at=now,
        )
        return self.dkim.sign(data) if self.dkim else data

    def _links(self, digest: Digest, matches: list[Match]) -> DigestLinks:
        # Every paper can be rated, whatever its source (web.feedback takes any stored id);
        # its vote teaches the topic it was chosen for.
        topics = {
            m.paper.id: t.id for m, t in zip(matches, digest.topics, strict=False) if t is not None
        }
        return self.links.digest(
            digest.recipient, digest.day, [m.paper.id for m in matches], topics=topics
        )

    def _render(
        self,
        digest: Digest,
        matches: list[Match],
        links: DigestLinks,
        max_html_bytes: int = MAX_HTML_BYTES,
    ) -> RenderedEmail:
        if not matches:
            return render_quiet_day(
                day=digest.day, recipient=digest.email, links=links, masthead=self.masthead
            )
        return render_digest(
            matches=matches,
            day=digest.day,
            recipient=digest.email,
            links=links,
            masthead=self.masthead,
            max_html_bytes=max_html_bytes,
            topics=[t.name if t is not None else None for t in digest.topics[: len(matches)]],
        )
