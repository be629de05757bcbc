"""The profile and schedule a person types, checked with messages they can act on.

Shared by the subscribe page, the preferences page and the JSON API: the HTML forms send
text (one keyword per comma or line), the API sends lists; both end in `check`.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

from newsletter.db.models import InterestProfileRow, SubscriberRow
from newsletter.db.subscriber_rows import to_profile
from newsletter.domain import CategoryMode, Frequency, InterestProfile, Schedule
from newsletter.matching import taxonomy
from newsletter.matching.profile import ProfileError, build_profile
from newsletter.subscribers.addresses import AddressError, normalise_address

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Characters a person may type into each field. The profile checks its own limits too;
# these stop oversized input before any work is done on it.
LIMITS: Mapping[str, int] = {
    "email": 320,
    "description": 2_000,
    "keywords": 3_000,
    "exclude": 3_000,
    "other_categories": 500,
    "authors": 3_000,
    "seed_papers": 2_000,
    "disliked_papers": 2_000,
    "timezone": 64,
    "send_hour": 4,
    "send_weekday": 4,
    "frequency": 10,
    "category_mode": 10,
    "website": 500,
}
LABELS: Mapping[str, str] = {
    "email": "Email",
    "description": "Interests",
    "keywords": "Keywords",
    "exclude": "Never show papers about",
    "other_categories": "Other categories",
    "authors": "Authors",
    "seed_papers": "Papers you liked",
    "disliked_papers": "Papers you did not like",
    "timezone": "Time zone",
    "send_hour": "Send hour",
    "send_weekday": "Weekday",
    "frequency": "Frequency",
    "profile": "Interests",
    "library": "Your papers",
    "name": "Topic name",
    "topics": "Topics",
}
MAX_CATEGORY_CHOICES = 60
_LIST_SPLIT = re.compile(r"[,\n]")
_AUTHOR_SPLIT = re.compile(r"[;\n]")
_ID_SPLIT = re.compile(r"[\s,]+")


class FormError(ValueError):
    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{LABELS.get(k, k)}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass
class FormValues:
    """What the form shows: as typed (to show it again with the problems), or as stored."""

    email: str = ""
    description: str = ""
    keywords: str = ""
    exclude: str = ""
    categories: list[str] = field(default_factory=list)
    other_categories: str = ""
    category_mode: str = CategoryMode.BOOST.value
    authors: str = ""
    seed_papers: str = ""
    disliked_papers: str = ""
    send_hour: str = "7"
    timezone: str = ""
    frequency: str = Frequency.DAILY.value
    send_weekday: str = "0"
    website: str = ""  # the honeypot: hidden from people, filled in by naive bots


@dataclass(frozen=True, slots=True)
class Checked:
    email: str  # "" where the form has no address (preferences)
    profile: InterestProfile
    schedule: Schedule


def from_form(form: Mapping[str, str], categories: Sequence[str]) -> FormValues:
    """`form` is the posted fields (strings; files are ignored), `categories` the ticked
    boxes. Oversized fields stay oversized here: `check` reports them."""
    values = FormValues(categories=[c for c in categories if isinstance(c, str)])
    for item in fields(FormValues):
        raw = form.get(item.name)
        if item.name != "categories" and isinstance(raw, str):
            setattr(values, item.name, raw)
    if form.get("category_filter") == "on":
        values.category_mode = CategoryMode.FILTER.value
    return values


def from_subscriber(row: SubscriberRow, topic: InterestProfileRow | None = None) -> FormValues:
    """The form as stored: the schedule, and `topic`'s profile (default: the first topic)."""
    profile = to_profile(row.profile if topic is None else topic)
    known = taxonomy.names()  # each has a box in the picker; anything else is typed
    return FormValues(
        email=row.email,
        description=profile.description,
        keywords=", ".join(profile.keywords),
        exclude=", ".join(profile.exclude),
        categories=[c for c in profile.categories if c in known],
        other_categories=", ".join(c for c in profile.categories if c not in known),
        category_mode=profile.category_mode.value,
        authors="\n".join(profile.authors),
        seed_papers="\n".join(profile.seed_papers),
        disliked_papers="\n".join(profile.disliked_papers),
        send_hour=str(row.send_hour),
        timezone=row.timezone or "",
        frequency=row.frequency,
        send_weekday=str(row.send_weekday),
    )


def check(values: FormValues, *, need_email: bool, default_timezone: str) -> Checked:
    """The cleaned address, profile and schedule, or FormError with every problem."""
    problems: dict[str, str] = {}
    for name, limit in LIMITS.items():
        typed = getattr(values, name)
        if len(typed) > limit:
            problems[name] = f"at most {limit} characters, not {len(typed)}"
    if len(values.categories) > MAX_CATEGORY_CHOICES or any(len(c) > 40 for c in values.categories):
        problems["categories"] = "too many or too long categories"
    if problems:
        raise FormError(problems)
    return check_parts(
        email=values.email if need_email else None,
        profile=ProfileParts(
            description=values.description,
            keywords=_LIST_SPLIT.split(values.keywords),
            exclude=_LIST_SPLIT.split(values.exclude),
            categories=[*values.categories, *_ID_SPLIT.split(values.other_categories)],
            category_mode=values.category_mode,
            authors=_AUTHOR_SPLIT.split(values.authors),
            seed_papers=_ID_SPLIT.split(values.seed_papers),
            disliked_papers=_ID_SPLIT.split(values.disliked_papers),
        ),
        send_hour=values.send_hour,
        send_weekday=values.send_weekday,
        timezone=values.timezone,
        frequency=values.frequency,
        default_timezone=default_timezone,
    )


@dataclass(frozen=True, slots=True)
class ProfileParts:
    """A profile as lists of what was typed, before `build_profile` cleans it."""

    description: str = ""
    keywords: Sequence[str] = ()
    exclude: Sequence[str] = ()
    categories: Sequence[str] = ()
    category_mode: str = CategoryMode.BOOST.value
    authors: Sequence[str] = ()
    seed_papers: Sequence[str] = ()
    disliked_papers: Sequence[str] = ()


def check_parts(
    *,
    email: str | None,
    profile: ProfileParts,
    send_hour: str,
    send_weekday: str,
    timezone: str,
    frequency: str,
    default_timezone: str,
) -> Checked:
    """`check` for lists (the JSON API); `email` None where there is no address to check."""
    problems: dict[str, str] = {}
    address = ""
    if email is not None:
        try:
            address = normalise_address(email)
        except AddressError as exc:
            problems["email"] = str(exc)
    hour = _integer(send_hour, 0, 23)
    if hour is None:
        problems["send_hour"] = "choose an hour from 0 to 23"
    weekday = _integer(send_weekday, 0, 6)
    if weekday is None:
        problems["send_weekday"] = "choose a weekday"
    zone = timezone.strip() or default_timezone
    if zone not in _zones():
        problems["timezone"] = f"unknown time zone {zone[:64]!r} (e.g. Europe/Paris)"
    if frequency not in {f.value for f in Frequency}:
        problems["frequency"] = "choose daily or weekly"
    built: InterestProfile | None = None
    try:
        built = build_profile(
            description=profile.description,
            keywords=profile.keywords,
            exclude=profile.exclude,
            categories=profile.categories,
            category_mode=profile.category_mode,
            authors=profile.authors,
            seed_papers=profile.seed_papers,
            disliked_papers=profile.disliked_papers,
        )
    except ProfileError as exc:
        problems["profile"] = str(exc)
    if problems or built is None or hour is None or weekday is None:
        raise FormError(problems)
    schedule = Schedule(
        timezone=zone, send_hour=hour, frequency=Frequency(frequency), send_weekday=weekday
    )
    return Checked(email=address, profile=built, schedule=schedule)


def _integer(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if low <= number <= high else None


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


def time_zones() -> list[str]:
    return sorted(_zones())
