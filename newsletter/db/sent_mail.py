"""One-off mails the relay accepted (confirmation, welcome, manage link, preview): their
Message-ID and recipient, kept so that a bounce report quoting the Message-ID can be matched
to the address the mail went to (newsletter.db.bounce_proof). Digests need no row here:
the outbox keeps theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.db.models import SentMailRow


def record_sent_mail(
    session: Session, *, message_id: str, recipient: str, kind: str, now: datetime
) -> None:
    session.add(
        SentMailRow(message_id=message_id, recipient=recipient.lower(), kind=kind, sent_at=now)
    )


def recipient_of(session: Session, message_id: str) -> str | None:
    return session.scalar(select(SentMailRow.recipient).where(SentMailRow.message_id == message_id))


def forget_recipient(session: Session, email: str) -> int:
    """Erase the record of every one-off mail sent to `email` (the right to erasure)."""
    gone = session.scalars(
        delete(SentMailRow).where(SentMailRow.recipient == email).returning(SentMailRow.id)
    ).all()
    return len(gone)
