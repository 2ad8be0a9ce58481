"""Helpers the tests import (conftest.py holds the fixtures)."""
import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import current_app, has_app_context
from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.extensions import db

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
#: Password of every user `make_user` creates.
PASSWORD = "correct-horse-battery"
#: The users of the `cast` fixture: name -> (role, park, display name or None for make_user's "Member 2").
#: Creation order numbers their e-mails (curator1@example.org is the author), so keep it.
CAST = {
    "author": ("curator", "park_a", "Author A"),
    "member_a": ("member", "park_a", None),
    "curator_a": ("curator", "park_a", None),
    "manager_a": ("manager", "park_a", None),
    "member_b": ("member", "park_b", None),
    "curator_b": ("curator", "park_b", None),
    "manager_b": ("manager", "park_b", None),
    "admin": ("admin", None, None),
}
#: Who the role tables of the tests go through: a visitor, then the cast.
ALL_USERS = ["visitor", *CAST]


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


def as_user(api_as, cast, who: str):
    """An API client for the `cast` member named `who`, or for a visitor when `who` is "visitor"."""
    return api_as(None if who == "visitor" else getattr(cast, who))


# -- reading HTML: assertions are about elements (a field's wrapper holds its error), not substrings --------

def page(response) -> BeautifulSoup:
    """Parse a response body; query it with CSS selectors (`select`, `select_one`)."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text(node) -> str:
    """The text of `node` with its whitespace collapsed, as a reader sees it."""
    return " ".join(node.get_text().split())


def field(tree, name: str):
    """The wrapper the form macros put around the input named `name` (label, help, errors and input)."""
    wrapper = tree.select_one(f"#f-{name}-field")
    assert wrapper is not None, f"no field {name!r} on the page"
    return wrapper


def field_error_text(tree, name: str) -> str:
    """The errors shown next to the input named `name` ("" when it has none)."""
    errors = field(tree, name).select_one("ul.field-errors")
    return text(errors) if errors is not None else ""


def links(tree) -> list[str]:
    """The targets of every link in `tree`."""
    return [a.get("href", "") for a in tree.select("a")]


def main_text(response) -> str:
    """The text of the page's <main>: its content and flashed messages, without the layout around them."""
    return text(page(response).main)
