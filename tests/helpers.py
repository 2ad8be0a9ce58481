"""Helpers the tests import (conftest.py holds the fixtures)."""
import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import current_app, has_app_context
from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.extensions import db

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
#: Password of every user `make_user` creates.
PASSWORD = "correct-horse-battery"


def corpus_path(name: str) -> Path:
    """Return a shared corpus file, failing (never skipping) with a clear message when it is absent."""
    path = CORPORA / name
    if not path.is_file():
        pytest.fail(f"Corpus file {path} is missing: the shared corpora must sit next to the project "
                    f"(../shared/corpora/{name}).", pytrace=False)
    return path


@contextmanager
def in_app(app):
    """Use the app context already pushed for `app`, or push one for the block."""
    if has_app_context() and current_app._get_current_object() is app:
        yield
    else:
        with app.app_context():
            yield


def reload(obj):
    """Return the row of `obj` (possibly detached) from the current session."""
    return db.session.get(type(obj), obj.id)


def case_data(**overrides) -> dict:
    """Valid input for FailureCaseSchema, with `overrides` applied."""
    data = {
        "title": "Smart street lighting pilot in Almaty",
        "summary": "Networked streetlights were installed in an industrial park but the city never paid.",
        "narrative": "The controllers could not survive the winter and the local partner walked away.",
        "lessons": "Sign the payment terms with the municipality before shipping hardware.",
        "causes": ["market.no_demand"],
        "sector": "construction",
        "target_markets": ["KZ"],
        "stage_reached": "pilot",
        "language": "en",
        "visibility": "public",
    }
    data.update(overrides)
    return data


def indexed_ids(app) -> set[int]:
    """Ids of the cases whose documents are in the index now."""
    with in_app(app):
        searcher = app.extensions["zhigu.search"].searcher()
        return {int(fields["id"]) for fields in searcher.all_stored_fields()}


def write_jsonl(path: Path, rows) -> Path:
    """Write `rows` (dicts, or ready strings) as JSON lines."""
    lines = (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def case_by_external_id(external_id: str) -> FailureCase | None:
    return db.session.scalar(select(FailureCase).where(FailureCase.external_id == external_id))


@contextmanager
def another_process(app):
    """Build a second app from `app`'s configuration, as a separate `zhigu` process would, and enter it.

    Useful for `zhigu search check|rebuild`, which run in a process of their own with a fresh index handle.
    """
    from zhigu import create_app

    other = create_app({key: app.config[key] for key in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "TESTING")})
    try:
        with other.app_context():
            yield other
    finally:
        close_app(other)


def close_app(other) -> None:
    """Close an extra app's searcher and database connections, as its process would when it ends."""
    searcher = getattr(other.extensions["zhigu.search"]._local, "searcher", None)
    if searcher is not None:
        searcher.close()
    with other.app_context():
        for engine in db.engines.values():
            engine.dispose()


def log_in_session(client, user) -> None:
    """Log `client` in as `user` through a real server-side session, without the log-in form (or its limits)."""
    from zhigu.auth import services as auth_services
    from zhigu.auth.models import User

    with in_app(client.application):
        key = auth_services.start_session(db.session.get(User, user.id))
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:{key}"
        session["_fresh"] = True
