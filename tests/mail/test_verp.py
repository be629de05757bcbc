"""VERP return paths: compact, case-proof, and verifiable only with the address they were
signed for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.mail.verp import DIGEST, MAX_LOCAL_CHARS, Verp, VerpError

SECRET = "a-test-secret-for-return-paths-0123456789"
VERP = Verp(SECRET, "bounces@digest.example.org")


def test_a_digest_return_path_names_its_outbox_row_and_verifies_for_its_recipient() -> None:
    address = VERP.for_digest(4711, "ada@example.org")
    local, _, domain = address.partition("@")
    assert domain == "digest.example.org"
    assert local.startswith("bounces+d")
    claim = VERP.read(address)
    assert claim is not None
    assert (claim.outbox_id, claim.kind) == (4711, DIGEST)
    assert VERP.verify(claim, "ada@example.org")
    assert VERP.verify(claim, "Ada@Example.org")  # addresses compare as stored: lower case
    assert not VERP.verify(claim, "bob@example.org")


def test_a_one_off_mail_return_path_names_its_kind() -> None:
    claim = VERP.read(VERP.for_mail("confirm", "ada@example.org"))
    assert claim is not None
    assert (claim.outbox_id, claim.kind) == (None, "confirm")
    assert VERP.verify(claim, "ada@example.org")
    assert not VERP.verify(claim, "bob@example.org")


def test_the_longest_return_path_fits_a_local_part() -> None:
    longest = Verp(SECRET, "b" * MAX_LOCAL_CHARS + "@example.org")
    for address in (
        longest.for_digest(2**63 - 1, "a@example.org"),
        longest.for_mail("abcdefghijkl", "a@example.org"),
    ):
        assert len(address.partition("@")[0]) <= 64
    assert len(VERP.for_digest(10**9, "a@example.org").partition("@")[0]) <= 50


def test_a_return_path_survives_case_folding() -> None:
    # Some MTAs fold the local part to one case on the way to the mailbox.
    address = VERP.for_digest(12, "ada@example.org")
    for folded in (address.upper(), address.lower(), f"<{address}>"):
        claim = VERP.read(folded)
        assert claim is not None
        assert VERP.verify(claim, "ada@example.org")


def test_a_tampered_or_foreign_token_does_not_verify() -> None:
    address = VERP.for_digest(12, "ada@example.org")
    local, _, domain = address.partition("@")
    head, _, mac = local.partition(".")
    flipped = ("b" if mac[0] == "a" else "a") + mac[1:]
    tampered = [
        f"{head}.{flipped}@{domain}",  # another MAC
        address.replace("+dc.", "+dd."),  # another row, same MAC
        f"bounces+d13.{mac}@{domain}",
    ]
    assert len(set(tampered)) == 3
    for candidate in tampered:
        assert candidate != address
        claim = VERP.read(candidate)
        assert claim is None or not VERP.verify(claim, "ada@example.org")
    other_secret = Verp("another-secret-entirely-0123456789abcdef", "bounces@digest.example.org")
    claim = VERP.read(address)
    assert claim is not None
    assert not other_secret.verify(claim, "ada@example.org")


@pytest.mark.parametrize(
    "address",
    [
        "bounces@digest.example.org",  # no token
        "other+d1.aaaaaaaaaaaaaaaaaaaaaaaaaa@digest.example.org",  # another mailbox
        "bounces+d1.aaaaaaaaaaaaaaaaaaaaaaaaaa@elsewhere.example",  # another domain
        "bounces+d1.aaaa@digest.example.org",  # MAC too short
        "bounces+x1.aaaaaaaaaaaaaaaaaaaaaaaaaa@digest.example.org",  # unknown form
        "bounces+d1.aaaaaaaaaaaaaaaaaaaaaaaaa1@digest.example.org",  # not base32
        "not an address",
        "",
    ],
)
def test_addresses_that_are_not_our_return_paths(address: str) -> None:
    assert VERP.read(address) is None


@pytest.mark.parametrize(
    "bounce_address",
    ["bounces", "@example.org", "bounces+x@example.org", "bö@example.org", "b" * 23 + "@x.org"],
)
def test_unusable_bounce_addresses_are_refused(bounce_address: str) -> None:
    with pytest.raises(VerpError):
        Verp(SECRET, bounce_address)


def test_unusable_ids_and_kinds_are_refused() -> None:
    for bad in (0, -1, 2**63):
        with pytest.raises(VerpError):
            VERP.for_digest(bad, "a@example.org")
    for kind in ("", "Confirm", "confirm-mail", "a" * 13):
        with pytest.raises(VerpError):
            VERP.for_mail(kind, "a@example.org")


@given(st.integers(1, 2**63 - 1), st.emails())
def test_every_return_path_reads_back_and_verifies(outbox_id: int, recipient: str) -> None:
    claim = VERP.read(VERP.for_digest(outbox_id, recipient))
    assert claim is not None
    assert claim.outbox_id == outbox_id
    assert VERP.verify(claim, recipient)


@given(st.text(max_size=120))
def test_reading_any_text_never_raises(text: str) -> None:
    claim = VERP.read(f"bounces+{text}@digest.example.org")
    if claim is not None:
        assert not VERP.verify(claim, "ada@example.org")
