"""Settings: env prefix, list parsing, and no working secrets outside dev."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from newsletter.config import Environment, Settings, SmtpSecurity
from newsletter.config.production import DEV_SECRET_KEY, MIN_SECRET_KEY_BITS, estimated_entropy_bits

# Was "k" * 40, which production now refuses (issue 14): a key drawn by secrets.token_urlsafe(32).
STRONG_KEY = "VVabmG8tOXyVtkE4JLr0vCIkfqj9vLko8tTlX9PICxQ"


def build(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"NEWSLETTER_{name.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_dev_defaults_work_without_any_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build(monkeypatch)
    assert settings.env is Environment.DEV
    assert settings.is_dev
    assert settings.database_url == "sqlite:///var/newsletter.db"
    assert settings.smtp_host is None  # the built-in development mail sink
    assert settings.smtp_security is SmtpSecurity.STARTTLS


def test_environment_variables_are_read_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build(
        monkeypatch,
        arxiv_categories="cs.CL, cs.LG,math.OC",
        hf_daily_papers="false",
        smtp_port="2525",
        base_url="https://digest.example.org/",
    )
    assert settings.arxiv_categories == ["cs.CL", "cs.LG", "math.OC"]
    assert settings.hf_daily_papers is False
    assert settings.smtp_port == 2525
    assert settings.base_url == "https://digest.example.org"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("arxiv_categories", "cs.CL,not a category", "not arXiv category names"),
        ("smtp_security", "ssl3", "smtp_security"),
        ("base_url", "digest.example.org", "http"),
        ("arxiv_api_interval_seconds", "1", "greater than or equal to 3"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_invalid_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        build(monkeypatch, **{name: value})


def test_production_refuses_the_dev_secret_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as error:
        build(monkeypatch, env="production")
    assert "NEWSLETTER_SECRET_KEY" in str(error.value)
    assert "NEWSLETTER_BASE_URL" in str(error.value)


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "short-key"])
def test_production_refuses_weak_secret(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    with pytest.raises(ValidationError, match="NEWSLETTER_SECRET_KEY"):
        build(monkeypatch, env="production", secret_key=key, base_url="https://d.example.org")


def test_production_with_real_values_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build(
        monkeypatch,
        env="production",
        secret_key=STRONG_KEY,
        base_url="https://d.example.org",
        smtp_host="smtp.example.org",
    )
    assert not settings.is_dev
    assert not settings.uses_mail_sink
    assert STRONG_KEY not in repr(settings)  # secrets are not printed


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("NEWSLETTER_TIMEZONE=Europe/Paris\n")
    assert Settings(_env_file=env_file).timezone == "Europe/Paris"  # type: ignore[call-arg]


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [
        f"NEWSLETTER_{name.upper()}"
        for name in Settings.model_fields
        if f"`NEWSLETTER_{name.upper()}`" not in readme
    ]
    assert missing == []


def test_production_needs_an_smtp_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="NEWSLETTER_SMTP_HOST"):
        build(monkeypatch, env="production", secret_key=STRONG_KEY, base_url="https://d.org")


def test_dev_without_relay_uses_the_mail_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(monkeypatch).uses_mail_sink
    assert not build(monkeypatch, smtp_host="localhost").uses_mail_sink


def test_dkim_needs_both_key_and_selector(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="DKIM"):
        build(monkeypatch, dkim_selector="s2026")


def production(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    values = {"secret_key": STRONG_KEY, "base_url": "https://d.example.org"} | env
    return build(monkeypatch, env="production", smtp_host="smtp.example.org", **values)


@pytest.mark.parametrize(
    "key",
    [
        "k" * 40,
        "0123456789" * 4,
        "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
        "Tr0ub4dor&3" * 4,
        "abc" * 20,
    ],
)
def test_production_refuses_guessable_keys(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    assert estimated_entropy_bits(key) < MIN_SECRET_KEY_BITS
    with pytest.raises(ValidationError, match="NEWSLETTER_SECRET_KEY looks guessable"):
        production(monkeypatch, secret_key=key)


@pytest.mark.parametrize(
    "key",
    [
        DEV_SECRET_KEY + "-padded-to-look-long-" + STRONG_KEY,
        STRONG_KEY + DEV_SECRET_KEY.upper(),
        "x" + DEV_SECRET_KEY.replace("-", "_") + "x" * 10,
        "Dev Only Insecure Secret Key " + STRONG_KEY,
    ],
)
def test_production_refuses_the_dev_key_in_any_form(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    with pytest.raises(ValidationError, match="not based on the development key"):
        production(monkeypatch, secret_key=key)


@pytest.mark.parametrize("draw", [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32)])
def test_production_accepts_random_keys(monkeypatch: pytest.MonkeyPatch, draw: object) -> None:
    assert callable(draw)
    for _ in range(50):
        key = draw()
        assert estimated_entropy_bits(key) >= MIN_SECRET_KEY_BITS, key
        production(monkeypatch, secret_key=key)


def test_entropy_estimate_ranks_keys_sensibly() -> None:
    assert estimated_entropy_bits("") == 0
    assert estimated_entropy_bits("k" * 40) < 40
    assert estimated_entropy_bits("k" * 40) < estimated_entropy_bits("kq" * 20)
    assert estimated_entropy_bits(STRONG_KEY) >= MIN_SECRET_KEY_BITS


@pytest.mark.parametrize(
    "url", ["http://digest.example.org", "http://127.0.0.1:8000", "http://localhost:9000"]
)
def test_production_refuses_plain_http(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    with pytest.raises(ValidationError, match="must start with https://"):
        production(monkeypatch, base_url=url)
    allowed = production(monkeypatch, base_url=url, allow_http="true")  # an intranet
    assert allowed.base_url == url


def test_dev_accepts_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(monkeypatch, base_url="http://127.0.0.1:8000").base_url == "http://127.0.0.1:8000"


def test_bounce_address_defaults_to_the_from_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build(monkeypatch, mail_from="Paper digest <digest@papers.example.org>")
    assert settings.bounce_mailbox == "bounces@papers.example.org"
    explicit = build(monkeypatch, bounce_address="returns@mx.example.org")
    assert explicit.bounce_mailbox == "returns@mx.example.org"


@pytest.mark.parametrize(
    "address",
    ["bounces", "bounces+tag@example.org", "Bounces <b@example.org>", "b" * 23 + "@example.org"],
)
def test_unusable_bounce_addresses_are_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    with pytest.raises(ValidationError, match="bounce_address"):
        build(monkeypatch, bounce_address=address)


def test_the_dev_base_url_follows_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build(monkeypatch).base_url == "http://localhost:8000"
    moved = build(monkeypatch, port="8123")
    assert (moved.port, moved.base_url) == (8123, "http://localhost:8123")
    again = moved.on_port(9000)  # what `--port 9000` does
    assert (again.port, again.base_url) == (9000, "http://localhost:9000")


def test_a_base_url_given_stays_whatever_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = build(monkeypatch, base_url="https://digest.example.org", port="8123")
    assert settings.base_url == "https://digest.example.org"
    assert settings.on_port(9000).base_url == "https://digest.example.org"
    production = build(monkeypatch, env="production", secret_key=STRONG_KEY,
                       smtp_host="smtp.example.org")  # fmt: skip
    assert production.on_port(9000).base_url == "https://digest.example.org"
