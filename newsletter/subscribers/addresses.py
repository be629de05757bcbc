"""Email address checks for everything that adds a subscriber. Pure: no DNS lookups."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_ADDRESS_LENGTH = 254  # RFC 5321 path limit, minus the angle brackets


class AddressError(ValueError):
    """An address we refuse, with a message fit to show the person who typed it."""


def normalise_address(text: str) -> str:
    """The address as stored: syntax checked, ASCII (domain in punycode), lower-cased.

    Lower-casing the local part is technically lossy, but every large mailbox provider
    treats it case-blind, and one person must not be able to subscribe twice.
    """
    candidate = text.strip()
    if not candidate:
        raise AddressError("enter an email address")
    if len(candidate) > MAX_ADDRESS_LENGTH:
        raise AddressError(f"an email address has at most {MAX_ADDRESS_LENGTH} characters")
    try:
        # ASCII local parts only: a UTF-8 one needs SMTPUTF8 at every hop, which many
        # relays lack. An international domain is kept in its ASCII (punycode) form.
        checked = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(f"{candidate!r} is not a valid email address: {exc}") from None
    return (checked.ascii_email or checked.normalized).lower()


# Providers known to ignore dots in the local part (and to be one mailbox under two names).
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(address: str) -> tuple[str, str]:
    """(mailbox, domain) an address is delivered to, for counting mails only: `a+x@d` and
    `a@d` are one mailbox (most providers deliver sub-addresses to the main one), and so are
    Gmail's dotted forms. Never used as the address itself: a mailbox that does not strip
    tags still gets exactly the address that was typed."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0]
    domain = _DOTLESS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}", domain
