# The wheel carries everything the service needs (templates, static files, migrations):
# build it, install it into a new virtual environment outside the checkout, and there
# migrate a database and render a digest preview from a recorded day. Sourced by .ci/run.

check_wheel() {
  local repo work
  repo=$(pwd)
  work=$(mktemp -d /tmp/newsletter-wheel.XXXXXX)
  .venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" .
  python3 -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install --quiet "$work"/dist/newsletter-*.whl
  (
    cd "$work"
    export NEWSLETTER_DATABASE_URL="sqlite:///$work/newsletter.db" NEWSLETTER_EMBEDDING_MODEL=""
    "$work/venv/bin/newsletter" db upgrade
    "$work/venv/bin/newsletter" fetch --source "file:$repo/tests/data/arxiv_listing_atom_cs.AI_2025-08-20.xml"
    "$work/venv/bin/newsletter" subscribe wheel@example.org --confirmed \
      --interests "LLM agents that plan and use tools" --keyword agents
    "$work/venv/bin/newsletter" preview wheel@example.org --date 2025-08-20 --out preview.html
    grep -q "wheel@example.org" preview.html
    "$work/venv/bin/python" - <<'PY'
from fastapi.testclient import TestClient
from newsletter.config import Settings
from newsletter.db.engine import make_engine, session_factory
from newsletter.web.app import create_app

settings = Settings()
app = create_app(settings, sessions=session_factory(make_engine(settings.database_url)))
with TestClient(app) as client:
    for path in ("/", "/static/site.css", "/docs", "/docs/swagger-ui-bundle.js"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
# Package data the service reads at run time: the sample day and the arXiv taxonomy.
from datetime import date
from newsletter.matching.taxonomy import all_codes
from newsletter.pipeline.sample import sample_papers
assert len(sample_papers(date.today())) == 86 and len(all_codes()) == 155
print("installed wheel: migrations, preview, pages, static files and package data work")
PY
  )
  rm -rf "$work"
}
