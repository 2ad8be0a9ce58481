"""Schema-based fuzzing: schemathesis sends what /api/v1/openapi.json allows (and what it forbids) to every
operation through the WSGI app, as an admin, and checks each answer against the same document: never a 500,
only documented status codes and content types, response bodies of the documented shape.

The document is read once, at import, from an app of its own (it depends on no data); each operation is then
called on the test's `app`, which has cases to find. MAX_EXAMPLES bounds the run (well under a minute).
"""
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from helpers import in_app, reload
from zhigu import create_app
from zhigu.auth import services as auth_services

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _load_schema():
    with tempfile.TemporaryDirectory() as tmp:
        # no warm-up thread (off in the suite's apps too): it ran beside the collection that follows, where
        # Hypothesis parses schemathesis's sources, and a fresh CI run once failed there in CPython's ast
        # ("AST constructor recursion depth mismatch")
        app = create_app({"DATABASE_URL": "sqlite://", "INDEX_DIR": f"{tmp}/index", "SECRET_KEY": "fuzz",
                          "TESTING": True, "RATELIMIT_ENABLED": False, "SEARCH_WARM_UP": False})
        return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = _load_schema()


@pytest.fixture
def fuzz_target(app, cast, make_case):
    """The app with two cases and an admin's token (indexing left to the outbox: see test_fuzz_cases.py)."""
    make_case(cast.author, title="Networked street lights that froze", visibility="public")
    make_case(cast.author, title="Cold chain lockers nobody rented", visibility="park")
    app.config["INDEX_INLINE_DRAIN"] = False  # after the seed cases, so that searches find them
    with in_app(app):
        token = auth_services.create_token(reload(cast.admin), "fuzz")[1]
    return app, {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_its_openapi_document_says(case, fuzz_target):
    app, headers = fuzz_target
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
