"""From an outbox row to the bytes on the wire: render, build the MIME message, sign."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from newsletter.db.outbox import ClaimedDigest, decode_matches
from newsletter.delivery.message import DkimSigner, MailIdentity, build_message
from newsletter.domain import Paper
from newsletter.links import Links, Recipient
from newsletter.matching.ranker import Match
from newsletter.rendering import (
    MAX_HTML_BYTES,
    DigestLinks,
    RenderedEmail,
    Sender,
    render_digest,
    render_quiet_day,
)


@dataclass(frozen=True)
class Composer:
    identity: MailIdentity
    links: Links
    sender: Sender
    max_papers: int
    dkim: DkimSigner | None = None

    def render(
        self,
        digest: ClaimedDigest,
        papers: Mapping[str, Paper],
        *,
        max_html_bytes: int = MAX_HTML_BYTES,
    ) -> RenderedEmail:
        """The digest as mailed, or (with a larger `max_html_bytes`) as the browser shows
        it: every paper, where the mail had to leave some out to stay under Gmail's clip."""
        matches = decode_matches(digest.content, papers)[: self.max_papers]
        return self._render(digest, matches, self._links(digest, matches), max_html_bytes)

    def _links(self, digest: ClaimedDigest, matches: list[Match]) -> DigestLinks:
        who = Recipient(digest.subscriber_id, digest.token_key)
        # Feedback needs an arXiv id (papers from local files have none).
        rated = [m.paper.id for m in matches if not m.paper.id.startswith("local:")]
        return self.links.digest(who, digest.digest_date, rated)

    def _render(
        self,
        digest: ClaimedDigest,
        matches: list[Match],
        links: DigestLinks,
        max_html_bytes: int = MAX_HTML_BYTES,
    ) -> RenderedEmail:
        if not matches:
            return render_quiet_day(
                day=digest.digest_date, recipient=digest.email, links=links, sender=self.sender
            )
        return render_digest(
            matches=matches,
            day=digest.digest_date,
            recipient=digest.email,
            links=links,
            sender=self.sender,
            max_html_bytes=max_html_bytes,
        )

    def compose(
        self, digest: ClaimedDigest, papers: Mapping[str, Paper], *, now: datetime
    ) -> bytes:
        matches = decode_matches(digest.content, papers)[: self.max_papers]
        links = self._links(digest, matches)  # signed once: the body and the header share them
        data = build_message(
            rendered=self._render(digest, matches, links),
            identity=self.identity,
            recipient=digest.email,
            message_id=digest.message_id,
            unsubscribe_url=links.unsubscribe,
            sent_at=now,
        )
        return self.dkim.sign(data) if self.dkim else data
