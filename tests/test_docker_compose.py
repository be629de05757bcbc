"""Docker's engine does not run here, so the compose file's structure is checked instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from newsletter.config import Settings

ROOT = Path(__file__).parents[1]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_services_and_order() -> None:
    services = compose()["services"]
    assert set(services) >= {"db", "migrate", "app", "worker", "mailpit"}
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    app_deps = services["app"]["depends_on"]
    assert app_deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["newsletter", "db", "upgrade"]
    assert all("healthcheck" in services[name] for name in ("db", "app", "worker"))
    assert services["app"]["command"][:2] == ["newsletter", "run"]
    assert services["worker"]["command"][:2] == ["newsletter", "worker"]
    worker_deps = services["worker"]["depends_on"]
    assert worker_deps["migrate"]["condition"] == "service_completed_successfully"


def test_workers_scale_and_the_scheduler_leaves_sending_to_them() -> None:
    services = compose()["services"]
    # --scale needs a service without a fixed name or published port.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]
    assert services["worker"]["environment"] == services["app"]["environment"]
    assert services["app"]["environment"]["NEWSLETTER_SCHEDULER_SENDS"] == "false"
    assert services["worker"]["stop_grace_period"]


def test_configuration_only_through_known_environment_variables() -> None:
    known = {f"NEWSLETTER_{name.upper()}" for name in Settings.model_fields}
    app_env = compose()["services"]["app"]["environment"]
    assert set(app_env) <= known
    assert {"NEWSLETTER_DATABASE_URL", "NEWSLETTER_SECRET_KEY", "NEWSLETTER_BASE_URL"} <= set(
        app_env
    )


def test_no_secret_literals_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for key in ("POSTGRES_PASSWORD", "NEWSLETTER_SECRET_KEY"):
        values = re.findall(rf"^\s*{key}:\s*(.+)$", text, flags=re.M)
        assert values, key
        assert all(value.strip().startswith("${") for value in values), values


def test_dockerfile_copies_what_the_app_reads() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for path in ("newsletter", "alembic", "templates", "static", "pyproject.toml"):
        assert f"COPY {path}" in dockerfile
