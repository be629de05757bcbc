"""From an outbox row to the bytes on the wire: render, build the MIME message, sign."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from newsletter.db.outbox import ClaimedDigest, decode_matches
from newsletter.delivery.message import DkimSigner, MailIdentity, build_message
from newsletter.domain import Paper
from newsletter.links import Links, Recipient
from newsletter.rendering import RenderedEmail, Sender, render_digest, render_quiet_day


@dataclass(frozen=True)
class Composer:
    identity: MailIdentity
    links: Links
    sender: Sender
    max_papers: int
    dkim: DkimSigner | None = None

    def render(self, digest: ClaimedDigest, papers: Mapping[str, Paper]) -> RenderedEmail:
        who = Recipient(digest.subscriber_id, digest.token_key)
        matches = decode_matches(digest.content, papers)[: self.max_papers]
        links = self.links.digest(who, digest.digest_date, [m.paper.id for m in matches])
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
        )

    def compose(
        self, digest: ClaimedDigest, papers: Mapping[str, Paper], *, now: datetime
    ) -> bytes:
        rendered = self.render(digest, papers)
        data = build_message(
            rendered=rendered,
            identity=self.identity,
            recipient=digest.email,
            message_id=digest.message_id,
            unsubscribe_url=self.links.unsubscribe(
                Recipient(digest.subscriber_id, digest.token_key)
            ),
            sent_at=now,
        )
        return self.dkim.sign(data) if self.dkim else data
