"""Settings, validated once by the entry points and passed down.

Nothing here runs at import time: `Settings()` reads the environment (prefix
``NEWSLETTER_``) and an optional ``.env`` file only when an entry point builds it.

In production no development value works (newsletter.config.production says what is refused).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from newsletter.config.production import (
    DEV_BASE_URL,
    DEV_PORT,
    DEV_SECRET_KEY,
    MIN_SECRET_KEY_BITS,
    MIN_SECRET_KEY_LENGTH,
    production_problems,
)

_CATEGORY = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


def _dev_base_url(port: int) -> str:
    return f"http://localhost:{port}"


class Environment(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class Settings(BaseSettings):
    """Every setting the service reads; the README's configuration table mirrors this."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSLETTER_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Environment = Field(Environment.DEV, description="`dev` or `production`.")
    _base_url_follows_port: bool = PrivateAttr(False)
    database_url: str = Field(
        "sqlite:///var/newsletter.db",
        description="SQLAlchemy URL; `postgresql+psycopg://…` for PostgreSQL.",
    )
    base_url: str = Field(
        DEV_BASE_URL,
        description="Public URL of the web app, used in links in emails. In dev, when unset, "
        "`http://localhost:` + the web port.",
    )
    port: int = Field(
        DEV_PORT, ge=1, le=65535, description="Port of the web app (`run`, `serve`; `--port`)."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET_KEY),
        description=f"Signs links, tokens and return paths; in production at least "
        f"{MIN_SECRET_KEY_LENGTH} characters and {MIN_SECRET_KEY_BITS} bits of estimated entropy "
        "(use `python -c 'import secrets; print(secrets.token_urlsafe(32))'`).",
    )
    allow_http: bool = Field(
        False,
        description="Allow a plain `http://` BASE_URL in production (an intranet without TLS).",
    )
    timezone: str = Field("UTC", description="Default time zone for new subscribers.")
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: LogFormat = Field(
        LogFormat.TEXT, description="`text` for people, `json` for one JSON object per line."
    )

    smtp_host: str | None = Field(
        None, description="SMTP relay; unset means the built-in development mail sink."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP AUTH user name.")
    smtp_password: SecretStr | None = Field(None, description="SMTP AUTH password.")
    smtp_security: SmtpSecurity = Field(
        SmtpSecurity.STARTTLS, description="`none`, `starttls` or `tls` (implicit TLS)."
    )
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one SMTP command.")
    smtp_concurrency: int = Field(
        4, ge=1, le=64, description="SMTP connections used at once (each reused for many mails)."
    )
    smtp_rate_limit: float = Field(
        0.0, ge=0, description="Most messages per second to the relay; 0 means no limit."
    )
    smtp_messages_per_connection: int = Field(
        100, ge=1, description="Reconnect after this many messages (relays cap it)."
    )
    mail_from: str = Field(
        "Paper digest <digest@localhost>", description="From address of every email."
    )
    mail_postal_address: str = Field(
        "", description="Organisation and postal address shown in every digest's footer."
    )
    dkim_private_key_file: Path | None = Field(
        None, description="PEM RSA key to DKIM-sign mail; unset leaves signing to the relay."
    )
    dkim_selector: str | None = Field(None, description="DKIM selector (the DNS record name).")
    dkim_domain: str | None = Field(None, description="DKIM signing domain; default: From's.")
    digest_quiet_day: bool = Field(
        False, description="Mail a short note when nothing matched (default: no mail)."
    )
    send_batch_size: int = Field(200, ge=1, le=10_000, description="Outbox rows claimed at once.")
    send_lease_seconds: int = Field(
        600, ge=5, description="A row `sending` this long (its worker died) is sent again."
    )
    send_retry_minutes: float = Field(
        5.0, gt=0, description="First retry of a deferred mail; doubles per attempt (max 6 h)."
    )
    send_give_up_days: float = Field(
        3.0, gt=0, description="A mail still deferred this long after queueing has failed."
    )
    send_max_error_rate: float = Field(
        0.2, gt=0, le=1, description="Pause a run when more of its mails than this fail."
    )
    send_outcome_group: int = Field(
        64,
        ge=1,
        le=10_000,
        description="Outcomes committed together at most (1: each alone); a crash resends them.",
    )
    send_outcome_group_ms: float = Field(
        200.0, ge=0, le=60_000, description="...and at most this long after the first of them."
    )
    catch_up_days: int = Field(
        1, ge=0, le=7, description="After downtime, also queue the digests of this many past days."
    )
    scheduler_sends: bool = Field(
        True, description="`newsletter run` also sends; false when `newsletter worker`s do."
    )
    worker_poll_seconds: float = Field(
        5.0, gt=0, description="How often an idle `newsletter worker` looks for due mail."
    )
    dispatch_parts: int = Field(
        1,
        ge=1,
        le=256,
        description="Subscribers queued in this many parts; on PostgreSQL each dispatcher "
        "(the scheduler, `newsletter worker --dispatch`) takes the parts nobody else is queueing.",
    )
    bounce_soft_limit: int = Field(
        3, ge=1, le=100, description="Soft bounces within the window that suppress an address."
    )
    bounce_window_days: int = Field(14, ge=1, le=365, description="Window for soft bounces.")
    bounce_address: str | None = Field(
        None,
        description="The bounce mailbox; every mail's return path is its `LOCAL+TOKEN@DOMAIN` "
        "(VERP). Default: `bounces@` the MAIL_FROM domain.",
    )
    bounce_resubscribe_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="An address that bounced at least this long ago may subscribe again "
        "(double opt-in); sooner, the subscribe form sends it nothing.",
    )
    confirmation_cooldown_minutes: float = Field(
        30.0,
        gt=0,
        description="Least time between two confirmation (or manage-link) mails to one mailbox "
        "(`a+x@` and `a@` count as one; so do Gmail's dotted forms).",
    )
    confirmations_per_mailbox_per_day: int = Field(
        3, ge=1, description="Most confirmation (or manage-link) mails to one mailbox in 24 hours."
    )
    confirmations_per_domain_per_day: int = Field(
        200, ge=1, description="Most confirmation (or manage-link) mails to one domain in 24 hours."
    )
    confirmations_per_hour: int = Field(
        300,
        ge=1,
        description="Most confirmation (or manage-link) mails in any hour, all addresses.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies whose `X-Forwarded-For`/`-Proto` headers are believed "
        "(addresses or networks, comma-separated); empty: none, the peer is the client.",
    )
    ops_token: SecretStr | None = Field(
        None,
        description="Bearer token for `/metrics` and the API docs; unset: both open in dev, "
        "`/metrics` off in production. At least 32 characters in production.",
    )
    public_docs: bool = Field(
        False, description="In production, serve the API docs (`/docs`, `/openapi.json`) to all."
    )
    mail_sink_port: int = Field(
        8025, ge=1, le=65535, description="Port of the built-in development mail sink."
    )
    mail_sink_dir: Path = Field(
        Path("var/mail"), description="Maildir where the development mail sink keeps mail."
    )

    arxiv_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cs.AI", "cs.CL", "cs.LG"],
        description="arXiv categories to fetch, comma-separated (`cs.CL,cs.LG`).",
    )
    hf_daily_papers: bool = Field(True, description="Also fetch Hugging Face daily papers.")
    arxiv_listing_url: str = Field(
        "https://rss.arxiv.org/atom", description="arXiv listing feed base URL."
    )
    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="arXiv API endpoint."
    )
    arxiv_api_enrich: bool = Field(
        True, description="Complete listing entries with the arXiv API (dates, full metadata)."
    )
    arxiv_api_batch_size: int = Field(100, ge=1, le=2000, description="Ids per arXiv API request.")
    arxiv_api_interval_seconds: float = Field(
        3.0, ge=3.0, description="Pause between arXiv API calls (its terms ask for >= 3 s)."
    )
    hf_api_url: str = Field(
        "https://huggingface.co/api/daily_papers", description="Hugging Face daily papers API."
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Sentence-transformers model name or local path for semantic matching; "
        "empty turns it off. The packaged all-MiniLM-L6-v2 is used offline when installed.",
    )
    embedding_cache_file: Path = Field(
        Path("var/embeddings.sqlite3"),
        description="Where `rank` keeps paper vectors between runs (the service keeps them in "
        "its database).",
    )
    digest_max_papers: int = Field(
        10, ge=1, le=100, description="Most papers in one digest (and the default of rank --limit)."
    )
    http_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one HTTP request.")
    http_retries: int = Field(
        4, ge=0, le=10, description="Retries on 429/5xx and network errors, with backoff."
    )
    http_max_response_bytes: int = Field(
        20_000_000, ge=1_000, description="Larger responses are refused, not read."
    )
    http_user_agent: str = Field(
        "newsletter-digest/0.1 (self-hosted paper digest)",
        description="User-Agent sent to the sources.",
    )

    @field_validator("arxiv_categories", mode="before")
    @classmethod
    def _split_categories(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("arxiv_categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        bad = [cat for cat in value if not _CATEGORY.match(cat)]
        if bad:
            raise ValueError(f"not arXiv category names: {', '.join(bad)} (expected e.g. cs.CL)")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an IP address or network: {item[:60]!r} (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected e.g. Europe/Paris)") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("bounce_address")
    @classmethod
    def _plain_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        local, at, domain = value.strip().rpartition("@")
        if not at or not local or not domain or not value.isascii() or "+" in local:
            raise ValueError("must be a plain ASCII address without '+', e.g. bounces@example.org")
        if any(ch in value for ch in ' <>"\r\n'):
            raise ValueError("must be a bare address, e.g. bounces@example.org")
        if len(local) > MAX_BOUNCE_LOCAL_CHARS:
            raise ValueError(
                f"its local part may have at most {MAX_BOUNCE_LOCAL_CHARS} characters "
                "(a return path adds a 42-character token; RFC 5321 allows 64)"
            )
        return value.strip()

    @model_validator(mode="after")
    def _dev_base_url_follows_the_port(self) -> Settings:
        # Changing the port once must not leave mailed links pointing at the old one.
        if self.is_dev and "base_url" not in self.model_fields_set:
            self.base_url = _dev_base_url(self.port)
            self._base_url_follows_port = True
        return self

    def on_port(self, port: int) -> Settings:
        """These settings with the web app on `port` (`--port`): in dev, with the base URL
        of mailed links following it unless NEWSLETTER_BASE_URL says otherwise."""
        update: dict[str, Any] = {"port": port}
        if self._base_url_follows_port:
            update["base_url"] = _dev_base_url(port)
        return self.model_copy(update=update)

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Settings:
        if self.env is Environment.PRODUCTION and (problems := production_problems(self)):
            raise ValueError("in production " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _dkim_needs_key_and_selector(self) -> Settings:
        if (self.dkim_private_key_file is None) != (self.dkim_selector is None):
            raise ValueError(
                "DKIM signing needs both NEWSLETTER_DKIM_PRIVATE_KEY_FILE and "
                "NEWSLETTER_DKIM_SELECTOR (or neither)"
            )
        return self

    @property
    def bounce_mailbox(self) -> str:
        """BOUNCE_ADDRESS, or `bounces@` the domain of MAIL_FROM."""
        if self.bounce_address:
            return self.bounce_address
        domain = parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"
        with contextlib.suppress(UnicodeError):  # an envelope address is ASCII: IDNA form
            domain = domain.encode("idna").decode("ascii")
        return f"bounces@{domain}"

    @property
    def uses_mail_sink(self) -> bool:
        """No relay configured in dev: mail goes to the built-in sink on loopback."""
        return self.is_dev and not self.smtp_host

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV


MAX_BOUNCE_LOCAL_CHARS = 22  # newsletter.mail.verp.MAX_LOCAL_CHARS (config imports nothing)
