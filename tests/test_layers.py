"""The packages form floors, and no module imports from a floor above its own.

Lower floors know nothing of the ones above: storage and rendering never import the
matcher (so they load without scipy), the pipeline stages never import the web app or the
command line. Packages on one floor do not import each other either, so each can be read,
tested and replaced alone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "newsletter"

# Floor by first name under `newsletter.`; a higher number may import any lower one.
FLOORS: dict[str, int] = {
    **dict.fromkeys(
        ["domain", "config", "normalize", "logs", "metrics", "resources", "safe_xml"], 0
    ),
    **dict.fromkeys(["sources", "matching", "mail", "library"], 1),
    "db": 2,
    **dict.fromkeys(["delivery", "bounces", "subscribers"], 3),
    "pipeline": 4,
    "web": 5,
    "cli": 6,  # `newsletter serve` runs the web app
}


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "newsletter" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every `newsletter…` import in the file, lazy ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if node.module != "newsletter":
                names = [node.module]  # `from newsletter.x import y`: y is a name in x
            # `from newsletter import x`: x is a module, or a name of the root package.
            found += [(node.lineno, n) for n in names if _part(n) in FLOORS or n == node.module]
    return [(line, module) for line, module in found if module.startswith("newsletter")]


def test_every_package_has_a_floor() -> None:
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    parts -= {"__init__", "__pycache__", "py"}
    assert parts - set(FLOORS) == set()


def test_no_module_imports_from_its_own_floor_or_above() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        own = _part(module)
        if own is None:
            continue
        for line, target in _imports(path):
            other = _part(target)
            if other is None or other == own:
                continue
            if FLOORS[other] >= FLOORS[own]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert wrong == []


@pytest.mark.parametrize(
    "module", ["newsletter.db.outbox", "newsletter.mail.render", "newsletter.delivery.sender"]
)
def test_storage_and_rendering_load_without_the_matcher(module: str) -> None:
    """Importing them must not load scipy or torch (seconds of start-up, hundreds of MB)."""
    probe = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('scipy', 'torch', 'sentence_transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
