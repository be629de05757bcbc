"""Settings: env prefix, list parsing, and no working secrets outside dev."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from newsletter.config import DEV_SECRET_KEY, Environment, Settings, SmtpSecurity

STRONG_KEY = "k" * 40


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
