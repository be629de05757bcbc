"""Where the service's files live: templates, static files and migrations.

In the repository they are top-level folders (`templates/`, `static/`, `alembic/`); the wheel
carries them inside the package (`newsletter/templates`, `newsletter/static`,
`newsletter/migrations`: see `[tool.hatch.build.targets.wheel.force-include]`), so an
installed service needs no checkout. The packaged copy is found with importlib.resources;
an editable install or a source checkout has none and reads the top-level folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# name in the wheel -> folder in the repository
_CHECKOUT_FOLDERS = {"templates": "templates", "static": "static", "migrations": "alembic"}
_CHECKOUT = Path(__file__).resolve().parents[1]


def resource_dir(name: str) -> Path:
    """The folder `name` ("templates", "static" or "migrations") as a path on disk."""
    packaged = Path(str(files("newsletter"))) / name
    if packaged.is_dir():
        return packaged
    return _CHECKOUT / _CHECKOUT_FOLDERS[name]
