"""Renaming a cause reaches the index through the search outbox, like every other change to a case's document."""
import signal
import subprocess
import sys
import textwrap

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from helpers import ROOT, case_data, in_app
from ops_helpers import env_for
from zhigu.archive import services
from zhigu.archive.models import Cause
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.models import IndexChange
from zhigu.search.services import search_cases

CLEAN = {"missing": [], "stale": [], "extra": []}
NEW_LABEL = "Burned through the seed round"


@pytest.fixture
def people(make_park, make_user):
    return make_user("curator", make_park()), make_user("admin")


def make_cases(app, curator, causes_of_each):
    with in_app(app):
        actor = db.session.get(User, curator.id)
        return [services.create_case(actor, case_data(title=f"Hydroponic farm {i}", causes=causes),
                                     publish=True).id
                for i, causes in enumerate(causes_of_each)]


def found(app, text) -> set[int]:
    with app.app_context():
        return {result.case.id for result in search_cases(None, text, per_page=50).results}


def outbox_after(app, last_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(IndexChange.case_id).where(IndexChange.id > last_id)
                                       .order_by(IndexChange.id)))


def last_outbox_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(IndexChange.id), 0)))


def rename(app, admin, code="money.cash_out", label=NEW_LABEL):
    with app.app_context():
        cause = db.session.scalar(select(Cause).where(Cause.code == code))
        services.update_cause(db.session.get(User, admin.id), cause, {"label_en": label})


def test_renaming_a_cause_records_its_cases_in_the_outbox_and_search_finds_the_new_label(app, people):
    curator, admin = people
    app.config["INDEX_INLINE_DRAIN"] = False  # only the worker applies the outbox, so the rows can be seen
    with_cause = make_cases(app, curator, [["money.cash_out"], ["market.no_demand", "money.cash_out"]])
    make_cases(app, curator, [["market.no_demand"]])
    app.test_cli_runner().invoke(args=["worker", "--once"])
    before = last_outbox_id(app)
    assert found(app, "seed round") == set()

    rename(app, admin)

    assert sorted(outbox_after(app, before)) == sorted(with_cause)
    assert found(app, "seed round") == set()  # not applied yet: the index is untouched by the rename itself
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert found(app, "seed round") == set(with_cause)
    with app.app_context():
        assert app.extensions["zhigu.search"].check() == CLEAN


def test_the_web_process_applies_a_rename_after_its_commit(app, people):
    curator, admin = people
    with_cause = make_cases(app, curator, [["money.cash_out"]])

    rename(app, admin)

    assert found(app, "seed round") == set(with_cause)
    with app.app_context():
        assert outbox.pending_count(db.engine, app.extensions["zhigu.search"].directory) == 0


def test_a_failed_rename_records_nothing(app, people):
    curator, admin = people
    make_cases(app, curator, [["money.cash_out"]])
    before = last_outbox_id(app)

    with app.app_context(), pytest.raises(ValidationError):
        cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))
        services.update_cause(db.session.get(User, admin.id), cause, {"label_en": "x"})

    assert outbox_after(app, before) == []


CRASHER = textwrap.dedent("""
    import os, signal
    from sqlalchemy import select
    from zhigu import create_app
    from zhigu.archive import services
    from zhigu.archive.models import Cause
    from zhigu.auth.models import User
    from zhigu.extensions import db
    from zhigu.search import outbox

    def die(self, *args, **kwargs):  # the process dies after the commit, before the index is written
        os.kill(os.getpid(), signal.SIGKILL)
    outbox.drain = die

    app = create_app()
    with app.app_context():
        cause = db.session.scalar(select(Cause).where(Cause.code == "money.cash_out"))
        services.update_cause(db.session.get(User, int(os.environ["ADMIN_ID"])), cause,
                              {"label_en": "Burned through the seed round"})
""")


def test_a_crash_between_the_rename_and_the_index_write_is_repaired_by_the_worker(app, people):
    curator, admin = people
    with_cause = make_cases(app, curator, [["money.cash_out"], ["money.cash_out"]])

    crashed = subprocess.run([sys.executable, "-c", CRASHER], env=env_for(app, ADMIN_ID=str(admin.id)), cwd=ROOT,
                             capture_output=True, text=True, timeout=120)

    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    with app.app_context():
        assert db.session.scalar(select(Cause.label_en).where(Cause.code == "money.cash_out")) == NEW_LABEL
    assert found(app, "seed round") == set()
    result = app.test_cli_runner().invoke(args=["worker", "--once"])  # the restart
    assert result.exit_code == 0, result.output
    assert found(app, "seed round") == set(with_cause)
