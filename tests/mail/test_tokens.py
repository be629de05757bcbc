"""Signed link tokens, address normalisation and the URLs mailed to subscribers."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs

import pytest
from itsdangerous import URLSafeTimedSerializer

from newsletter.mail.links import Links, Recipient
from newsletter.mail.tokens import LIFETIMES, Purpose, TokenError, Tokens
from newsletter.subscribers.addresses import MAX_ADDRESS_LENGTH, AddressError, normalise_address

SECRET = "test-secret-0123456789"
START = 1_750_000_000.0  # a fixed epoch second, so expiry is decided by the test's clock
DAY = 86_400.0
BASE = "https://digest.example.org"
WHO = Recipient(subscriber_id=42, token_key="0123456789abcdef")


class Clock:
    """A settable clock: tokens are made at one time and read at another."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tokens_at(clock: Clock, secret: str = SECRET) -> Tokens:
    return Tokens(secret=secret, clock=clock)


def signed_payload(payload: object, purpose: Purpose) -> str:
    """A token signed with the real secret and salt but carrying a payload of our choosing."""
    serializer = URLSafeTimedSerializer(SECRET, salt=f"newsletter.{purpose.value}")
    return str(serializer.dumps(payload))


def signed_raw(data: bytes, purpose: Purpose) -> str:
    """Correctly signed bytes that are not a serialised payload at all."""
    salt = f"newsletter.{purpose.value}"
    signer = URLSafeTimedSerializer(SECRET, salt=salt).make_signer(salt)
    return signer.sign(data).decode()


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_round_trip_keeps_subscriber_key_and_extra(purpose: Purpose) -> None:
    tokens = tokens_at(Clock())
    token = tokens.make(purpose, subscriber_id=7, token_key="k1", extra=("2508.00001", -1))
    claims = tokens.read(purpose, token)
    assert (claims.subscriber_id, claims.token_key) == (7, "k1")
    assert claims.extra == ("2508.00001", -1)


def test_tokens_are_url_safe() -> None:
    token = tokens_at(Clock()).make(Purpose.FEEDBACK, subscriber_id=1, token_key="k", extra=("x",))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_tampered_token_is_refused() -> None:
    tokens = tokens_at(Clock())
    token = tokens.make(Purpose.UNSUBSCRIBE, subscriber_id=7, token_key="k1")
    payload, timestamp, signature = token.split(".")
    # Another subscriber's id in the payload, the original signature kept.
    forged_payload = tokens.make(Purpose.UNSUBSCRIBE, subscriber_id=8, token_key="k1").split(".")[0]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        f"{forged_payload}.{timestamp}.{signature}",
        f"{payload}.{timestamp}.{flipped}",
        f"{payload}.{timestamp}",
        token + "x",
    ):
        with pytest.raises(TokenError):
            tokens.read(Purpose.UNSUBSCRIBE, bad)


@pytest.mark.parametrize(
    ("made_for", "read_as"),
    [
        (Purpose.CONFIRM, Purpose.UNSUBSCRIBE),
        (Purpose.UNSUBSCRIBE, Purpose.CONFIRM),
        (Purpose.UNSUBSCRIBE, Purpose.PREFERENCES),
        (Purpose.FEEDBACK, Purpose.PREFERENCES),
        (Purpose.VIEW, Purpose.FEED),
    ],
)
def test_token_for_one_purpose_is_refused_for_another(made_for: Purpose, read_as: Purpose) -> None:
    tokens = tokens_at(Clock())
    token = tokens.make(made_for, subscriber_id=7, token_key="k1")
    with pytest.raises(TokenError):
        tokens.read(read_as, token)


def test_confirm_token_expires_after_its_lifetime() -> None:
    clock = Clock()
    tokens = tokens_at(clock)
    token = tokens.make(Purpose.CONFIRM, subscriber_id=7, token_key="k1")
    lifetime = LIFETIMES[Purpose.CONFIRM].total_seconds()
    clock.now = START + lifetime - 60
    assert tokens.read(Purpose.CONFIRM, token).subscriber_id == 7
    clock.now = START + lifetime + 60
    with pytest.raises(TokenError, match="expired"):
        tokens.read(Purpose.CONFIRM, token)


def test_every_purpose_expires_eventually() -> None:
    clock = Clock()
    tokens = tokens_at(clock)
    for purpose in Purpose:
        token = tokens.make(purpose, subscriber_id=7, token_key="k1")
        clock.now = START + LIFETIMES[purpose].total_seconds() + 1
        with pytest.raises(TokenError):
            tokens.read(purpose, token)
        clock.now = START


def test_unsubscribe_token_still_works_after_a_year() -> None:
    clock = Clock()
    tokens = tokens_at(clock)
    token = tokens.make(Purpose.UNSUBSCRIBE, subscriber_id=7, token_key="k1")
    clock.now = START + 365 * DAY
    assert tokens.read(Purpose.UNSUBSCRIBE, token).subscriber_id == 7
    assert LIFETIMES[Purpose.UNSUBSCRIBE] >= timedelta(days=365)


def test_token_from_another_secret_is_refused() -> None:
    clock = Clock()
    token = tokens_at(clock, "another-secret").make(
        Purpose.UNSUBSCRIBE, subscriber_id=7, token_key="k1"
    )
    with pytest.raises(TokenError):
        tokens_at(clock).read(Purpose.UNSUBSCRIBE, token)


@pytest.mark.parametrize(
    "payload",
    [{"id": 7}, [7], ["7", "k1"], [7, 1234], "7", None, [], [None, "k1"]],
)
def test_signed_but_malformed_payload_is_refused(payload: object) -> None:
    token = signed_payload(payload, Purpose.UNSUBSCRIBE)
    with pytest.raises(TokenError):
        tokens_at(Clock()).read(Purpose.UNSUBSCRIBE, token)


@pytest.mark.parametrize("data", [b"!!not base64!!", b"eyJhIjox", b".eJzLSM3JyQcABiwCFQ"])
def test_signed_but_undecodable_payload_is_refused(data: bytes) -> None:
    # A validly signed payload that is not base64 / JSON / zlib must not escape as some
    # other itsdangerous error (the web layer only turns TokenError into a 400).
    with pytest.raises(TokenError):
        tokens_at(Clock()).read(Purpose.UNSUBSCRIBE, signed_raw(data, Purpose.UNSUBSCRIBE))


@pytest.mark.parametrize("garbage", ["", ".", "...", "not-a-token", "ä.ö.ü", "a" * 5000])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(TokenError):
        tokens_at(Clock()).read(Purpose.UNSUBSCRIBE, garbage)


# --- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("reader@example.com", "reader@example.com"),
        ("  Reader.Name+tag@Example.COM \n", "reader.name+tag@example.com"),
        ("Someone@BÜCHER.DE", "someone@xn--bcher-kva.de"),
        ("someone@xn--bcher-kva.de", "someone@xn--bcher-kva.de"),
    ],
)
def test_valid_addresses_are_normalised(typed: str, stored: str) -> None:
    assert normalise_address(typed) == stored


def test_one_person_cannot_subscribe_twice_by_changing_case() -> None:
    assert normalise_address("A.B@EXAMPLE.org") == normalise_address("a.b@example.ORG")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "no-at-sign",
        "two@@example.com",
        "@example.com",
        "reader@",
        "reader@example",
        "reader@exa mple.com",
        "reader@example.com\r\nBcc: victim@example.net",
        "reader@example.com\nBcc: victim@example.net",
        "reader\r\n@example.com",
        "reader@example.com\x00",
        "Reader <reader@example.com>",
    ],
)
def test_invalid_addresses_are_refused(typed: str) -> None:
    with pytest.raises(AddressError):
        normalise_address(typed)


def test_oversize_address_is_refused() -> None:
    domain = "@example.com"
    local = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60
    address = local + domain
    assert len(address) > MAX_ADDRESS_LENGTH
    with pytest.raises(AddressError, match=str(MAX_ADDRESS_LENGTH)):
        normalise_address(address)


# --- links --------------------------------------------------------------------------------


def links() -> tuple[Links, Tokens]:
    tokens = tokens_at(Clock())
    return Links(base_url=BASE, tokens=tokens), tokens


def token_of(url: str, path: str) -> str:
    prefix = f"{BASE}/{path}/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    assert token
    assert "/" not in token
    return token


@pytest.mark.parametrize(
    ("path", "purpose"),
    [
        ("confirm", Purpose.CONFIRM),
        ("unsubscribe", Purpose.UNSUBSCRIBE),
        ("preferences", Purpose.PREFERENCES),
    ],
)
def test_plain_links_carry_a_token_for_their_purpose(path: str, purpose: Purpose) -> None:
    builder, tokens = links()
    url = getattr(builder, path)(WHO)
    claims = tokens.read(purpose, token_of(url, path))
    assert (claims.subscriber_id, claims.token_key, claims.extra) == (42, WHO.token_key, ())
    wrong = Purpose.FEEDBACK
    with pytest.raises(TokenError):
        tokens.read(wrong, token_of(url, path))


def test_view_link_names_the_day() -> None:
    builder, tokens = links()
    claims = tokens.read(Purpose.VIEW, token_of(builder.view(WHO, date(2025, 8, 20)), "digest"))
    assert claims.extra == ("2025-08-20",)
    assert claims.subscriber_id == 42


def test_feedback_link_carries_who_and_the_query_says_which_paper() -> None:
    builder, tokens = links()
    url = (
        builder.digest(WHO, date(2025, 8, 20), ["cond-mat/0603029"])
        .papers["cond-mat/0603029"]
        .more_like_this
    )
    base, _, query = url.partition("?")
    assert parse_qs(query) == {"paper": ["cond-mat/0603029"], "vote": ["more"]}
    claims = tokens.read(Purpose.FEEDBACK, token_of(base, "feedback"))
    assert (claims.subscriber_id, claims.extra) == (42, ())


def test_digest_links_cover_every_paper_and_purpose() -> None:
    builder, tokens = links()
    day = date(2025, 8, 20)
    digest = builder.digest(WHO, day, ["2508.00001", "2508.00002"])
    assert set(digest.papers) == {"2508.00001", "2508.00002"}
    assert tokens.read(Purpose.UNSUBSCRIBE, token_of(digest.unsubscribe, "unsubscribe"))
    assert tokens.read(Purpose.PREFERENCES, token_of(digest.preferences, "preferences"))
    assert tokens.read(Purpose.VIEW, token_of(digest.view_in_browser, "digest")).extra == (
        day.isoformat(),
    )
    for paper_id, paper_links in digest.papers.items():
        for url, vote in (
            (paper_links.more_like_this, "more"),
            (paper_links.less_like_this, "less"),
        ):
            base, _, query = url.partition("?")
            assert parse_qs(query) == {"paper": [paper_id], "vote": [vote]}
            assert tokens.read(Purpose.FEEDBACK, token_of(base, "feedback")).subscriber_id == 42


def test_signatures_are_itsdangerous_own() -> None:
    from itsdangerous import TimestampSigner

    from newsletter.mail.tokens import _Signer

    ours = _Signer("s" * 40, salt="newsletter.unsubscribe")
    ours.clock = lambda: 1_760_000_000.0

    class Reference(TimestampSigner):
        def get_timestamp(self) -> int:
            return 1_760_000_000

    reference = Reference("s" * 40, salt="newsletter.unsubscribe")
    for payload in (b"WzEsImsiXQ", b"x" * 300):
        assert ours.sign(payload) == ours.sign(payload) == reference.sign(payload)
        assert reference.unsign(ours.sign(payload)) == payload
