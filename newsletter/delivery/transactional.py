"""One-off mails the web app sends a person who asked for them: confirm, welcome, manage
link, preview. No outbox: the person is waiting, and a lost one is asked for again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from newsletter.config import Settings
from newsletter.delivery import wiring
from newsletter.delivery.message import DkimSigner, MailIdentity, build_message
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import Verdict, classify
from newsletter.delivery.smtp import SmtpConfig, SmtpPool
from newsletter.mail.render import RenderedEmail

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The relay did not take the message."""


class Mailer(Protocol):
    async def send(self, *, recipient: str, rendered: RenderedEmail) -> None:
        """Deliver one mail now, or raise MailError."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SmtpMailer:
    """A fresh connection per mail: a handful of mails a minute does not need a pool, and
    the web app then holds no connection open between requests."""

    config: SmtpConfig
    identity: MailIdentity
    dkim: DkimSigner | None = None
    clock: Callable[[], datetime] = _now

    async def send(self, *, recipient: str, rendered: RenderedEmail) -> None:
        data = build_message(
            rendered=rendered,
            identity=self.identity,
            recipient=recipient,
            message_id=self.identity.new_message_id(),
            unsubscribe_url=None,  # transactional: no list to leave
            sent_at=self.clock(),
        )
        if self.dkim is not None:
            data = self.dkim.sign(data)
        async with SmtpPool(self.config, size=1, limiter=TokenBucket(None)) as pool:
            reply = await pool.send(
                envelope_from=self.identity.address, recipient=recipient, data=data
            )
        if classify(reply).verdict is not Verdict.SENT:
            raise MailError(f"mail to {recipient} not accepted: {reply}")


def smtp_mailer(settings: Settings) -> SmtpMailer:
    return SmtpMailer(
        config=wiring.smtp_config(settings),
        identity=wiring.mail_identity(settings),
        dkim=wiring.composer(settings).dkim,
    )
