"""Self-service (the web app): every change here is asked for by the subscriber, from a
form, a mail link or the API. A subscribe form is unauthenticated: it may create or renew
a pending subscription, never change a confirmed one.

An address that bounced is left alone for a while (mailing a dead mailbox again hurts the
sender's reputation); once the bounce is `resubscribe_after` old, a subscribe form makes it
pending again, and only the confirmation link in the mail it then gets makes it active:
mailboxes come back (a full one is emptied, a domain renewed), and a bounce may have been
wrong.

Requests for one address may arrive at once (a double click, a script): a new address is
inserted with INSERT … ON CONFLICT DO NOTHING, so the second request waits for the first
and then finds its row instead of failing on the unique address, and a confirmation mail is
claimed with one conditional UPDATE, so only one of them sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from newsletter.db.models import BounceEventRow, InterestProfileRow, SubscriberRow
from newsletter.db.sent_mail import forget_recipient
from newsletter.db.subscriber_rows import find, write_profile, write_schedule
from newsletter.domain import InterestProfile, Schedule, Status
from newsletter.matching.profile import MAX_SEEDS

RESUBSCRIBE_AFTER = timedelta(days=30)


def request_subscription(
    session: Session,
    *,
    email: str,
    profile: InterestProfile,
    schedule: Schedule,
    now: datetime,
    resubscribe_after: timedelta = RESUBSCRIBE_AFTER,
) -> SubscriberRow:
    """A subscribe form sent for `email`, which nobody has proven to own yet.

    A new address waits as pending; a pending or unsubscribed one, or one that bounced at
    least `resubscribe_after` ago, takes the new profile and waits for confirmation again.
    An active, paused or recently bounced subscriber is left exactly as it is: an
    unauthenticated form must never change someone's subscription.
    """
    row = find(session, email) or _insert_pending(session, email, now)
    if row.status == Status.BOUNCED:
        if not bounced_before(row, now - resubscribe_after):
            return row
    elif row.status not in (Status.PENDING, Status.UNSUBSCRIBED):
        return row
    if row.profile is None:
        row.profile = InterestProfileRow()
    row.status = Status.PENDING
    write_profile(row.profile, profile)
    write_schedule(row, schedule)
    session.flush()
    return row


def _insert_pending(session: Session, email: str, now: datetime) -> SubscriberRow:
    """A new pending row for `email`, or the row a concurrent request has just added."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added = session.scalar(
        insert(SubscriberRow)
        .values(email=email, status=Status.PENDING, created_at=now)
        .on_conflict_do_nothing(index_elements=[SubscriberRow.email])
        .returning(SubscriberRow.id)
    )
    if added is not None:
        session.add(InterestProfileRow(subscriber_id=added))
        session.flush()
    row = find(session, email)
    assert row is not None  # inserted now, or by the request it waited for
    return row


def bounced_before(row: SubscriberRow, when: datetime) -> bool:
    """True when the address was suppressed at or before `when` (never: not bounced)."""
    return row.suppressed_at is not None and row.suppressed_at <= when


@dataclass(frozen=True, slots=True)
class ConfirmationClaim:
    """A confirmation mail's place in the per-address cooldown (see `release_claim`)."""

    subscriber_id: int
    at: datetime
    previous: datetime | None


def claim_confirmation_mail(
    row: SubscriberRow, *, now: datetime, cooldown: timedelta, answered_free: bool = False
) -> ConfirmationClaim | None:
    """A claim (the time recorded on the row) when a confirmation mail may go out now;
    None within the cooldown. One conditional UPDATE, so of two requests at once only one
    claims. A stored time far in the future (the clock was wrong) does not block.
    `answered_free`: a confirmation mail the subscriber has already answered does not count
    (see `claim_preview_mail`)."""
    session = object_session(row)
    assert session is not None, "the row must belong to a session"
    previous = row.confirmation_sent_at
    sent = SubscriberRow.confirmation_sent_at
    free = [sent.is_(None), sent <= now - cooldown, sent > now + cooldown]
    if answered_free:
        confirmed = SubscriberRow.confirmed_at
        free.append(and_(confirmed.is_not(None), sent <= confirmed))
    claimed = session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == row.id, or_(*free))
        .values(confirmation_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    set_committed_value(row, "confirmation_sent_at", now)
    return ConfirmationClaim(row.id, now, previous)


def release_claim(session: Session, claim: ConfirmationClaim) -> None:
    """Undo a claim whose mail the relay refused, so the cooldown starts only with a mail
    that went out; a later claim (another mail meanwhile) is left alone."""
    session.execute(
        update(SubscriberRow)
        .where(
            SubscriberRow.id == claim.subscriber_id,
            SubscriberRow.confirmation_sent_at == claim.at,
        )
        .values(confirmation_sent_at=claim.previous)
        .execution_options(synchronize_session=False)
    )


def claim_preview_mail(
    row: SubscriberRow, *, now: datetime, cooldown: timedelta
) -> ConfirmationClaim | None:
    """Like `claim_confirmation_mail` for a "preview now" mail, except that a confirmation
    mail the subscriber has already answered does not count. The cooldown stops floods from a
    forwarded link; it must not refuse the first preview a newcomer asks for right after
    confirming."""
    return claim_confirmation_mail(row, now=now, cooldown=cooldown, answered_free=True)


def confirm(row: SubscriberRow, *, now: datetime) -> bool:
    """Activate a pending subscriber; False when it was not pending (idempotent)."""
    if row.status != Status.PENDING:
        return False
    row.status = Status.ACTIVE
    row.confirmed_at = row.active_since = now
    row.unsubscribed_at = None
    # A confirmed address has just received mail: an old bounce no longer describes it.
    row.suppressed_at = row.suppressed_reason = None
    return True


def update_preferences(row: SubscriberRow, *, profile: InterestProfile, schedule: Schedule) -> None:
    if row.profile is None:
        row.profile = InterestProfileRow()
    write_profile(row.profile, profile)
    write_schedule(row, schedule)


def set_paused(row: SubscriberRow, *, paused: bool, now: datetime | None = None) -> bool:
    """Pause an active subscriber or resume a paused one; False when nothing changed. A
    resume counts from `now`: the paused days are not caught up."""
    before, after = (Status.ACTIVE, Status.PAUSED) if paused else (Status.PAUSED, Status.ACTIVE)
    if row.status != before.value:
        return False
    row.status = after.value
    if not paused:
        row.active_since = now or datetime.now(UTC)
    return True


def record_feedback(
    row: SubscriberRow, *, paper_id: str, more: bool, topic: InterestProfileRow | None = None
) -> None:
    """A paper becomes a positive (`more`) or negative example of `topic` (one of the
    reader's; None: the first topic), and leaves the other list."""
    if topic is None and row.profile is None:
        row.profile = InterestProfileRow()
    profile = topic if topic is not None else row.profile
    assert profile is not None
    seeds = [p for p in profile.seed_papers or [] if p != paper_id]
    disliked = [p for p in profile.disliked_papers or [] if p != paper_id]
    (seeds if more else disliked).append(paper_id)
    # The latest MAX_SEEDS only: a link followed again and again must not grow the profile
    # without bound, nor past what the preferences form accepts.
    # New lists, not in-place edits: JSON columns only notice assignment.
    profile.seed_papers, profile.disliked_papers = seeds[-MAX_SEEDS:], disliked[-MAX_SEEDS:]


def delete_subscriber(session: Session, row: SubscriberRow) -> int:
    """Erase everything stored about the subscriber (the right to erasure), for the web's
    "delete everything" and the admin's `subscribers remove --delete` alike: the profile
    goes with the row (ORM cascade), the outbox and received papers with it in the database
    (ON DELETE CASCADE), and the bounce reports naming the address, which no foreign key
    ties to the row, and the record of one-off mails sent to it. Returns how many bounce
    reports went."""
    email = row.email
    session.delete(row)
    session.flush()
    bounces = session.scalars(
        delete(BounceEventRow).where(BounceEventRow.recipient == email).returning(BounceEventRow.id)
    ).all()
    forget_recipient(session, email)
    return len(bounces)
