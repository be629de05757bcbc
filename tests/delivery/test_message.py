"""The MIME message: bulk-sender header rules, encodings, injection guards and DKIM."""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import dkim
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.delivery.message import (
    DkimSigner,
    HeaderError,
    MailIdentity,
    build_message,
    check_header,
    quoted_printable,
)
from newsletter.mail.render import RenderedEmail
from newsletter.subscribers.addresses import normalise_address

FROM = "Paper digest <digest@example.org>"
RECIPIENT = "reader@example.com"
UNSUBSCRIBE = "https://digest.example.org/unsubscribe/WzQyLCJrZXkiXQ.aKx9Qw.signature-part"
SENT_AT = datetime(2025, 11, 28, 7, 0, tzinfo=UTC)
ONE_EACH = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
SELECTOR = "mail2025"
DOMAIN = "example.org"


def rendered(
    *,
    subject: str = "5 new papers on your interests — 28 Nov",
    html: str = "<html><body><p>Hello</p></body></html>",
    text: str = "Hello",
) -> RenderedEmail:
    return RenderedEmail(subject=subject, html=html, text=text)


def build(
    *,
    content: RenderedEmail | None = None,
    identity: MailIdentity | None = None,
    recipient: str = RECIPIENT,
    unsubscribe_url: str = UNSUBSCRIBE,
    message_id: str | None = None,
) -> bytes:
    identity = identity or MailIdentity(FROM)
    return build_message(
        rendered=content or rendered(),
        identity=identity,
        recipient=recipient,
        message_id=message_id or identity.new_message_id(),
        unsubscribe_url=unsubscribe_url,
        sent_at=SENT_AT,
    )


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def raw_header(data: bytes, name: str) -> str:
    """A header's value exactly as on the wire, only unfolded (no RFC 2047 decoding)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n([ \t])", r"\1", head)
    values = [
        line.split(":", 1)[1].strip()
        for line in unfolded.split("\r\n")
        if line.lower().startswith(name.lower() + ":")
    ]
    assert len(values) == 1, (name, values)
    return values[0]


# --- headers ------------------------------------------------------------------------------


def test_every_required_header_appears_exactly_once() -> None:
    parsed = parse(build())
    for name in ONE_EACH:
        assert len(parsed.get_all(name) or []) == 1, name
    assert parsed["From"] == FROM
    assert parsed["To"] == RECIPIENT
    assert parsed["Subject"] == "5 new papers on your interests — 28 Nov"
    assert parsedate_to_datetime(parsed["Date"]) == SENT_AT
    assert parsed["List-Id"] == "Paper digest <digest.example.org>"


def test_message_id_is_the_one_given_and_on_the_senders_domain() -> None:
    identity = MailIdentity("Paper digest <Digest@Mail.Example.ORG>")
    message_id = identity.new_message_id()
    assert re.fullmatch(r"<[^<>@\s]+@mail\.example\.org>", message_id)
    parsed = parse(build(identity=identity, message_id=message_id))
    assert parsed["Message-ID"] == message_id


def test_message_ids_are_unique() -> None:
    identity = MailIdentity(FROM)
    ids = {identity.new_message_id() for _ in range(2000)}
    assert len(ids) == 2000


def test_list_unsubscribe_is_one_https_url_in_angle_brackets() -> None:
    data = build()
    # Folded onto its own line when long; the value is the same once unfolded.
    value = str(parse(data)["List-Unsubscribe"]).strip()
    assert value == f"<{UNSUBSCRIBE}>"
    assert re.fullmatch(r"<https://[^<>,\s]+>", value)
    assert raw_header(data, "List-Unsubscribe") == value
    assert parse(data)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_long_unsubscribe_url_is_not_broken_on_the_wire() -> None:
    # Receivers read List-Unsubscribe as `<URL>`: they do not decode RFC 2047 words in it,
    # so the header must go out as the plain URL (unfolding aside), not merely parse back.
    url = "https://digest.example.org/unsubscribe/" + "WzQyLCJrZXkiXQ-aKx9Qw_" * 10
    assert len(url) > 200
    data = build(unsubscribe_url=url)
    assert str(parse(data)["List-Unsubscribe"]).strip() == f"<{url}>"
    assert raw_header(data, "List-Unsubscribe") == f"<{url}>"


def test_realistic_unsubscribe_url_is_not_encoded_on_the_wire() -> None:
    # ~110 characters, the length Links produces: over 78 once the header name is added.
    url = "https://papers.example.org/unsubscribe/WzEyMzQ1LCIwMTIzNDU2Nzg5YWJjZGVmIl0.awp-2A.1v8GhOi10MpxEBLVxNZELT7xpIE"
    data = build(unsubscribe_url=url)
    assert "=?" not in raw_header(data, "List-Unsubscribe")
    assert raw_header(data, "List-Unsubscribe") == f"<{url}>"


def test_multipart_alternative_text_first_then_html_both_utf8() -> None:
    parsed = parse(build())
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]


def test_non_ascii_subject_and_bodies_survive_a_round_trip() -> None:
    subject = "3 neue Arbeiten — Über Graphen, 量子 and émigrés 🚀"
    text = "Grüße aus Zürich — 量子コンピュータ 🚀\nSecond line"
    html = "<html><body><p>Grüße aus Zürich — 量子コンピュータ 🚀</p></body></html>"
    data = build(content=rendered(subject=subject, html=html, text=text))
    data.decode("ascii")  # 7-bit clean on the wire, for any relay
    parsed = parse(data)
    assert parsed["Subject"] == subject
    plain = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == text
    assert rich.get_content().replace("\r\n", "\n").rstrip("\n") == html


def test_non_ascii_from_name_survives_a_round_trip() -> None:
    identity = MailIdentity("Zoë's Paper digest <digest@example.org>")
    parsed = parse(build(identity=identity))
    assert parsed["From"].addresses[0].display_name == "Zoë's Paper digest"
    assert parsed["From"].addresses[0].addr_spec == "digest@example.org"


def test_lines_are_crlf_and_at_most_998_bytes() -> None:
    long_line = "x" * 5000
    content = rendered(
        subject="A subject " * 40,
        html=f"<html><body><p>{long_line}</p><p>{'é' * 3000}</p></body></html>",
        text=f"{long_line}\n{'ü' * 3000}",
    )
    data = build(content=content)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    parsed = parse(data)
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    assert long_line in plain.get_content()


def test_long_ascii_subject_is_folded_under_998_bytes() -> None:
    subject = " ".join(f"word{n}" for n in range(300))
    assert len(subject) > 998
    data = build(content=rendered(subject=subject))
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert parse(data)["Subject"] == subject


def test_stray_carriage_returns_in_bodies_go_out_as_crlf() -> None:
    # Templates checked out with CRLF, or a paper's text with a lone CR: a bare CR on the
    # wire is refused by many servers (SMTP smuggling defences) and breaks DKIM bodies.
    text = "first\r\nsecond\rthird\nfourth"
    data = build(content=rendered(text=text, html=f"<p>{text}</p>"))
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    plain = parse(data).get_body(preferencelist=("plain",))
    assert plain is not None
    lines = plain.get_content().splitlines()
    assert lines[:4] == ["first", "second", "third", "fourth"]


def test_list_id_stays_readable_with_a_non_ascii_name() -> None:
    # RFC 2919: the <list-id> must be plain on the wire; only the phrase may be encoded.
    identity = MailIdentity("Zoë's Paper digest <digest@example.org>")
    data = build(identity=identity)
    raw = raw_header(data, "List-Id")
    assert raw.endswith(" <digest.example.org>")
    assert str(parse(data)["List-Id"]) == "Zoë's Paper digest <digest.example.org>"


def test_idn_recipient_is_sent_in_its_ascii_form() -> None:
    # normalise_address stores IDN domains in punycode, and an RFC 2047 word is never
    # allowed in an addr-spec: a non-ASCII To is refused rather than mangled.
    data = build(recipient=normalise_address("someone@bücher.de"))
    assert "=?" not in raw_header(data, "To")
    (address,) = parse(data)["To"].addresses
    assert (address.username, address.domain) == ("someone", "xn--bcher-kva.de")
    with pytest.raises(HeaderError, match="ASCII"):
        build(recipient="someone@bücher.de")


@pytest.mark.parametrize("bad", ["\r", "\n", "\r\n", "\x00"])
def test_line_breaks_in_subject_raise(bad: str) -> None:
    with pytest.raises(HeaderError):
        build(content=rendered(subject=f"Hello{bad}Bcc: victim@example.net"))


@pytest.mark.parametrize("bad", ["\r", "\n", "\r\n", "\x00"])
def test_line_breaks_in_recipient_raise(bad: str) -> None:
    with pytest.raises(HeaderError):
        build(recipient=f"reader@example.com{bad}Bcc: victim@example.net")


@pytest.mark.parametrize("bad", ["\r", "\n", "\r\n", "\x00"])
def test_line_breaks_in_from_display_name_raise(bad: str) -> None:
    with pytest.raises(HeaderError):
        MailIdentity(f"Paper{bad}Bcc: victim@example.net <digest@example.org>")


def test_from_without_an_address_raises() -> None:
    with pytest.raises(HeaderError):
        MailIdentity("Paper digest")


@pytest.mark.parametrize(
    "url",
    [
        "mailto:unsubscribe@example.org",
        "javascript:alert(1)",
        "ftp://example.org/u",
        "/unsubscribe/token",
        "",
    ],
)
def test_non_http_unsubscribe_url_raises(url: str) -> None:
    with pytest.raises(HeaderError):
        build(unsubscribe_url=url)


def test_line_break_in_unsubscribe_url_raises() -> None:
    with pytest.raises(HeaderError):
        build(unsubscribe_url="https://example.org/u\r\nBcc: victim@example.net")


@pytest.mark.parametrize("name", ["X Bad", "X:Bad", "", "Bcc\r\n", "Ünicode"])
def test_check_header_refuses_bad_names(name: str) -> None:
    with pytest.raises(HeaderError):
        check_header(name, "value")


def test_check_header_accepts_ordinary_headers() -> None:
    check_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    check_header("Subject", "Über — 🚀\ttab is fine")


# --- DKIM ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    dns_record: bytes


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> DkimKey:
    folder: Path = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public_der = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return DkimKey(private_pem=private.read_bytes(), dns_record=record)


def verify(data: bytes, key: DkimKey) -> bool:
    def dns(name: bytes | str, timeout: int = 5) -> bytes | None:
        wanted = f"{SELECTOR}._domainkey.{DOMAIN}."
        asked = name.decode() if isinstance(name, bytes) else name
        return key.dns_record if asked.rstrip(".") + "." == wanted else None

    return bool(dkim.verify(data, dnsfunc=dns))


def signed(key: DkimKey) -> bytes:
    signer = DkimSigner(selector=SELECTOR, domain=DOMAIN, private_key=key.private_pem)
    content = rendered(subject="3 neue Arbeiten — Über Graphen", text="Grüße " * 200)
    return signer.sign(build(content=content))


def test_dkim_signature_verifies(dkim_key: DkimKey) -> None:
    data = signed(dkim_key)
    assert data.startswith(b"DKIM-Signature:")
    assert verify(data, dkim_key)


def test_dkim_signature_covers_the_one_click_headers(dkim_key: DkimKey) -> None:
    parsed = parse(signed(dkim_key))
    tags = dict(
        part.strip().split("=", 1)
        for part in re.sub(r"\s+", "", str(parsed["DKIM-Signature"])).split(";")
        if part.strip()
    )
    signed_headers = set(tags["h"].lower().split(":"))
    assert {"from", "to", "subject", "date", "message-id"} <= signed_headers
    assert {"list-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed_headers
    assert tags["d"] == DOMAIN
    assert tags["s"] == SELECTOR
    assert tags["c"] == "relaxed/relaxed"


def test_dkim_fails_when_one_click_header_is_changed(dkim_key: DkimKey) -> None:
    data = signed(dkim_key)
    original = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    assert original in data
    tampered = data.replace(original, b"List-Unsubscribe-Post: List-Unsubscribe=Two-Click")
    assert not verify(tampered, dkim_key)


def test_dkim_fails_when_unsubscribe_url_is_changed(dkim_key: DkimKey) -> None:
    data = signed(dkim_key)
    assert b"unsubscribe/WzQy" in data
    assert not verify(data.replace(b"unsubscribe/WzQy", b"unsubscribe/WzQz"), dkim_key)


def test_dkim_fails_when_the_body_is_changed(dkim_key: DkimKey) -> None:
    data = signed(dkim_key)
    assert b"Gr=C3=BC=C3=9Fe" in data
    assert not verify(data.replace(b"Gr=C3=BC=C3=9Fe", b"Gruesse", 1), dkim_key)


def test_dkim_fails_with_another_key(dkim_key: DkimKey, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(other), "2048"], check=True, capture_output=True
    )
    signer = DkimSigner(selector=SELECTOR, domain=DOMAIN, private_key=other.read_bytes())
    assert not verify(signer.sign(build()), dkim_key)


def test_list_unsubscribe_stays_on_its_header_line() -> None:
    url = "https://digest.example.org/unsubscribe/" + "A" * 150
    line = next(
        line for line in build(unsubscribe_url=url).split(b"\r\n")
        if line.startswith(b"List-Unsubscribe:")
    )  # fmt: skip
    assert line == f"List-Unsubscribe: <{url}>".encode()


def test_list_id_quotes_a_name_with_specials() -> None:
    identity = MailIdentity('"Papers, daily" <digest@example.org>')
    assert identity.list_id == '"Papers, daily" <digest.example.org>'
    parsed = parse(build(identity=identity))
    assert str(parsed["List-Id"]) == '"Papers, daily" <digest.example.org>'


QP_PIECES = st.sampled_from([*" \t=.aé\u00a0\n\r", "x" * 70, "From ", "€"])
QP_TEXT = st.lists(QP_PIECES, max_size=60).map("".join)


@given(st.lists(QP_TEXT, min_size=1, max_size=3))
def test_quoted_printable_line_by_line_is_the_whole_body_encoded(bodies: list[str]) -> None:
    # Lines are encoded once and remembered; the result must not depend on what came before.
    for body in bodies:
        lines = body.replace("\r\n", "\n").replace("\r", "\n")
        whole = binascii.b2a_qp(lines.encode(), istext=True).replace(b"\n", b"\r\n")
        assert quoted_printable(body) == whole
        assert quoted_printable(body) == whole
