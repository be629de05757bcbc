"""Does a bounce report prove it is about mail this service sent to the address it names?

Anyone can write to the bounce mailbox, so a report acts only with one of two proofs, each
tying the report to one mail and the address it went to:

  verp        it was delivered to one of our return paths (newsletter.mail.verp) whose token
              verifies for the event's recipient: signed here, for mail to that address
  message-id  it quotes a Message-ID we recorded (the outbox for digests, sent_mail for
              one-off mails) for mail to the event's recipient

A report naming another address than the one the proof is for proves nothing about it.
Both proofs can only come from the recipient's side (their mailbox shows the return path
and the Message-ID), so at worst a recipient's own provider can bounce that recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db.models import OutboxRow, SubscriberRow
from newsletter.db.sent_mail import recipient_of
from newsletter.domain import BounceEvent
from newsletter.mail.verp import Verp, VerpClaim

VERP = "verp"
MESSAGE_ID = "message-id"


@dataclass(frozen=True, slots=True)
class Proof:
    via: str  # VERP or MESSAGE_ID
    message_id: str | None  # of our mail the report is about, when known


def prove(
    session: Session, event: BounceEvent, claims: Sequence[VerpClaim], verp: Verp
) -> Proof | None:
    """The proof that `event` is about our mail to `event.recipient`, or None."""
    for claim in claims:
        if verp.verify(claim, event.recipient):
            return Proof(VERP, _sent_message_id(session, claim, event))
    if event.message_id is not None and _sent_to(session, event.message_id) == event.recipient:
        return Proof(MESSAGE_ID, event.message_id)
    return None


def claims_in(envelope: Sequence[str], verp: Verp) -> list[VerpClaim]:
    """The return paths of ours among the addresses a report was delivered to."""
    return [claim for address in envelope if (claim := verp.read(address)) is not None]


def _sent_to(session: Session, message_id: str) -> str | None:
    digest_to = session.scalar(
        select(SubscriberRow.email)
        .join(OutboxRow, OutboxRow.subscriber_id == SubscriberRow.id)
        .where(OutboxRow.message_id == message_id)
    )
    return digest_to or recipient_of(session, message_id)


def _sent_message_id(session: Session, claim: VerpClaim, event: BounceEvent) -> str | None:
    if claim.outbox_id is not None:
        return session.scalar(select(OutboxRow.message_id).where(OutboxRow.id == claim.outbox_id))
    # A one-off mail's token names its kind, not the mail: the quoted Message-ID, if it is
    # one we sent to this recipient.
    if event.message_id is not None and recipient_of(session, event.message_id) == event.recipient:
        return event.message_id
    return None
