"""The emails: a digest of matched papers, the quiet-day note and the transactional mails,
each rendered to a subject, an HTML part (CSS inlined, under Gmail's clipping limit) and a
plain-text part. Pure: reads templates, nothing else; the caller builds every link.

Digests are assembled from pieces compiled once (newsletter.mail.digest); the rarer mails
here render their whole template each time. How each paper shows (excerpt, highlights,
links) is newsletter.mail.items' part.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from newsletter.mail.digest import DigestLinks, digest_headline, digest_subject, render_digest
from newsletter.mail.items import EXCERPT_STEPS, PaperLinks, author_line, excerpt_end
from newsletter.mail.templates import (
    MAX_HTML_BYTES,
    Masthead,
    RenderedEmail,
    environment,
    inliner,
    long_date,
    short_date,
    wrap,
)

__all__ = [
    "EXCERPT_STEPS",
    "MAX_HTML_BYTES",
    "DigestLinks",
    "Masthead",
    "PaperLinks",
    "RenderedEmail",
    "author_line",
    "digest_headline",
    "digest_subject",
    "excerpt_end",
    "long_date",
    "render_confirmation",
    "render_digest",
    "render_manage_link",
    "render_quiet_day",
    "render_welcome",
    "short_date",
    "wrap",
]

_environment = environment  # the names tests and the render oracle use
_inliner = inliner


def render_quiet_day(
    *, day: date, recipient: str, links: DigestLinks, masthead: Masthead
) -> RenderedEmail:
    subject = f"No new papers on your interests today — {short_date(day)}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead, links=links)
    preheader = "Nothing matched your interests today; see you at the next announcement."
    return _email("quiet_day", preheader=preheader, day_label=long_date(day), **frame)


def render_confirmation(*, recipient: str, confirm_url: str, masthead: Masthead) -> RenderedEmail:
    subject = f"Confirm your subscription to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    preheader = "One click to start receiving your daily paper digest."
    return _email("confirm", preheader=preheader, confirm_url=confirm_url, **frame)


def render_welcome(
    *, recipient: str, preferences_url: str, unsubscribe_url: str, masthead: Masthead
) -> RenderedEmail:
    subject = f"Welcome to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    frame.update(preferences_url=preferences_url, unsubscribe_url=unsubscribe_url)
    preheader = "You are subscribed. Tune your interests so the digest finds the right papers."
    return _email("welcome", preheader=preheader, **frame)


def render_manage_link(
    *, recipient: str, preferences_url: str, unsubscribe_url: str, masthead: Masthead
) -> RenderedEmail:
    """For a subscribe form sent for an address already subscribed: the way in, by mail,
    so the form itself reveals nothing about who subscribes."""
    subject = f"Your subscription to {masthead.list_name}"
    frame = _frame(subject=subject, recipient=recipient, masthead=masthead)
    frame.update(preferences_url=preferences_url, unsubscribe_url=unsubscribe_url)
    preheader = "You are already subscribed: change your interests or unsubscribe here."
    return _email("manage", preheader=preheader, **frame)


def _frame(
    *, subject: str, recipient: str, masthead: Masthead, links: DigestLinks | None = None
) -> dict[str, Any]:
    """What the base layout needs: who sends, to whom, the header links (None: not shown)."""
    return {
        "subject": subject,
        "recipient": recipient,
        "masthead": masthead,
        "view_url": links.view_in_browser if links else None,
        "preferences_url": links.preferences if links else None,
        "unsubscribe_url": links.unsubscribe if links else None,
    }


def _email(name: str, *, preheader: str, **context: Any) -> RenderedEmail:
    html = _html(f"{name}.html", preheader=preheader, **context)
    return RenderedEmail(
        subject=context["subject"], html=html, text=_text(f"{name}.txt", **context), kind=name
    )


def _html(name: str, **context: Any) -> str:
    return inliner().inline(environment().get_template(name).render(**context))


def _text(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context).strip() + "\n"
