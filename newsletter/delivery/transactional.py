"""One-off mails the web app sends a person who asked for them: confirm, welcome, manage
link, preview. No outbox: the person is waiting, and a lost one is asked for again.

Each goes out with a VERP return path naming its kind and recipient (newsletter.mail.verp),
and once the relay accepts it, its Message-ID and recipient are recorded (sent_mail): the two
ways a bounce report about it can prove it is genuine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db.sent_mail import record_sent_mail
from newsletter.delivery import wiring
from newsletter.delivery.message import DkimSigner, MailIdentity, build_message
from newsletter.delivery.ratelimit import TokenBucket
from newsletter.delivery.replies import Verdict, classify
from newsletter.delivery.smtp import SmtpConfig, SmtpPool
from newsletter.mail.render import RenderedEmail
from newsletter.mail.verp import Verp

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
    verp: Verp
    sessions: sessionmaker[Session] | None = None  # where sent mail is recorded; None: not
    dkim: DkimSigner | None = None
    clock: Callable[[], datetime] = _now

    async def send(self, *, recipient: str, rendered: RenderedEmail) -> None:
        message_id = self.identity.new_message_id()
        data = build_message(
            rendered=rendered,
            identity=self.identity,
            recipient=recipient,
            message_id=message_id,
            unsubscribe_url=None,  # transactional: no list to leave
            sent_at=self.clock(),
        )
        if self.dkim is not None:
            data = self.dkim.sign(data)
        return_path = self.verp.for_mail(rendered.kind, recipient)
        async with SmtpPool(self.config, size=1, limiter=TokenBucket(None)) as pool:
            reply = await pool.send(envelope_from=return_path, recipient=recipient, data=data)
        if classify(reply).verdict is not Verdict.SENT:
            raise MailError(f"mail to {recipient} not accepted: {reply}")
        if self.sessions is not None:
            # Off the event loop: a busy database must not hold up other requests.
            await asyncio.to_thread(self._record, message_id, recipient, rendered.kind)

    def _record(self, message_id: str, recipient: str, kind: str) -> None:
        assert self.sessions is not None
        try:
            with self.sessions.begin() as session:
                record_sent_mail(
                    session, message_id=message_id, recipient=recipient, kind=kind,
                    now=self.clock(),
                )  # fmt: skip
        except SQLAlchemyError:
            # The mail is out; its bounce can still prove itself by the return path.
            log.warning("could not record %s mail %s to %s", kind, message_id, recipient)


def smtp_mailer(settings: Settings, sessions: sessionmaker[Session] | None = None) -> SmtpMailer:
    return SmtpMailer(
        config=wiring.smtp_config(settings),
        identity=wiring.mail_identity(settings),
        verp=wiring.verp(settings),
        sessions=sessions,
        dkim=wiring.composer(settings).dkim,
    )
