"""`zhigu search rebuild --processes N`: the same index as one process, crash-safe, positioned on the outbox."""
from pathlib import Path

import pytest
from sqlalchemy import func, select
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import TEXT

from helpers import case_data, in_app
from zhigu.archive import services
from zhigu.auth.models import User
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search import documents as documents_module
from zhigu.search import rebuild as rebuild_module
from zhigu.search.analysis import MultilingualAnalyzer, SpellingAnalyzer, TermCounts
from zhigu.search.documents import build_schema
from zhigu.search.models import IndexChange
from zhigu.search.services import search_cases

WORDS = ["solar", "irrigation", "battery", "logistics", "cold", "chain", "drone", "textile", "fintech",
         "payment", "warehouse", "export", "tariff", "municipal", "pilot", "supplier", "cement", "robot"]


@pytest.fixture
def archive(app, make_park, make_user, monkeypatch):
    """25 published cases of varied text (Chinese and English), a draft, a retraction and a comment."""
    monkeypatch.setattr(rebuild_module, "MIN_PER_PROCESS", 4)
    curator = make_user("curator", make_park())
    with in_app(app):
        actor = db.session.get(User, curator.id)
        ids = []
        for i in range(25):
            words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(6))
            data = case_data(title=f"{WORDS[i % len(WORDS)]} venture {i} {words[:30]}",
                             summary=f"A {words} business that failed after {i + 2} years.",
                             narrative=f"{words} " * (1 + i % 4) + ("跨境电商物流仓储失败" if i % 3 == 0 else ""),
                             causes=["market.no_demand"] if i % 2 else ["market.no_demand", "money.cash_out"],
                             primary_cause="market.no_demand")
            ids.append(services.create_case(actor, data, publish=True).id)
        services.create_case(actor, case_data(title="Draft solar venture"), publish=False)
        services.retract_case(actor, db.session.get(services.FailureCase, ids[3]), {"reason": "A duplicate entry."})
        comment_services.create_comment(actor, db.session.get(services.FailureCase, ids[5]),
                                     {"body": "The irrigation pumps were never certified."})
    return ids


def snapshot(app) -> dict:
    """Everything a reader sees: stored fields by document number, rankings, similar lists."""
    with in_app(app):
        index = app.extensions["zhigu.search"]
        searcher = index.searcher()
        client = app.test_client()
        searches = {q: client.get(f"/api/v1/cases?q={q}").get_json() for q in
                    ("solar", "battery logistics", "irrigation OR drone", "跨境电商", "pumps certified")}
        similar = client.post("/api/v1/similar", json={"description": "solar battery drone pilot failed in export"
                                                                       " markets with tariff trouble", "limit": 10})
        return {"docs": searcher.doc_count(), "stored": list(searcher.all_stored_fields()),
                "searches": searches, "similar": similar.get_json(),
                "segments": len(index.index._read_toc().segments),
                "position": outbox.applied_change(Path(app.config["INDEX_DIR"]))}


def last_change(app) -> int:
    with in_app(app):
        return db.session.scalar(select(func.max(IndexChange.id)))


def test_a_rebuild_with_two_processes_gives_the_index_of_one(app, archive):
    with in_app(app):
        assert outbox.rebuild(app.extensions["zhigu.search"], processes=1) == 24
    one = snapshot(app)
    with in_app(app):
        assert outbox.rebuild(app.extensions["zhigu.search"], processes=2) == 24
    two = snapshot(app)

    assert one["segments"] == 1 and two["segments"] == 2  # the second really ran in two processes
    assert two["docs"] == one["docs"] == 24
    assert two["stored"] == one["stored"]
    assert all(result["total"] > 0 for result in one["searches"].values()), one["searches"]
    assert two["searches"] == one["searches"]
    assert one["similar"]["results"] and two["similar"] == one["similar"]
    assert two["position"] == one["position"] == last_change(app)
    with in_app(app):
        assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}


def test_a_failed_rebuild_process_leaves_the_old_index_and_position(app, archive, monkeypatch):
    app.config["INDEX_INLINE_DRAIN"] = False  # the change below stays in the outbox
    with in_app(app):
        outbox.rebuild(app.extensions["zhigu.search"])
        curator = db.session.scalar(select(User).where(User.role == "curator"))
        services.update_case(curator, db.session.get(services.FailureCase, archive[0]), {"title": "Renamed venture"})
    before = snapshot(app)
    assert before["position"] < last_change(app)
    real = documents_module.case_document

    def failing(case, *args):
        if case.id == archive[-1]:
            raise RuntimeError("disk on fire")
        return real(case, *args)

    monkeypatch.setattr(documents_module, "case_document", failing)  # the forked children inherit it
    with in_app(app):
        with pytest.raises(RuntimeError, match="disk on fire"):
            outbox.rebuild(app.extensions["zhigu.search"], processes=2)
    after = snapshot(app)
    assert after["stored"] == before["stored"] and after["position"] == before["position"]
    monkeypatch.setattr(documents_module, "case_document", real)
    with in_app(app):  # the locks were released: the next rebuild works and picks up the change
        assert outbox.rebuild(app.extensions["zhigu.search"], processes=2) == 24
        assert app.extensions["zhigu.search"].check() == {"missing": [], "stale": [], "extra": []}
    assert snapshot(app)["position"] == last_change(app)


def test_a_killed_rebuild_process_fails_the_rebuild(app, archive, monkeypatch):
    import os
    import signal

    with in_app(app):
        outbox.rebuild(app.extensions["zhigu.search"])
    before = snapshot(app)
    real = documents_module.case_document

    def dying(case, *args):
        if case.id == archive[-1]:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(case, *args)

    monkeypatch.setattr(documents_module, "case_document", dying)
    with in_app(app), pytest.raises(RuntimeError, match="died"):
        outbox.rebuild(app.extensions["zhigu.search"], processes=2)
    assert snapshot(app)["stored"] == before["stored"]


def test_a_small_archive_is_rebuilt_in_one_process(app, archive, monkeypatch):
    monkeypatch.setattr(rebuild_module, "MIN_PER_PROCESS", 1000)
    with in_app(app):
        assert outbox.rebuild(app.extensions["zhigu.search"], processes=4) == 24
    assert snapshot(app)["segments"] == 1


def test_the_rebuild_command_takes_a_process_count(app, archive, runner):
    result = runner.invoke(args=["search", "rebuild", "--processes", "2"])
    assert result.exit_code == 0, result.output
    assert "Indexed 24 published case(s)." in result.output
    assert snapshot(app)["segments"] == 2
    assert runner.invoke(args=["search", "rebuild", "--processes", "-1"]).exit_code == 2


@pytest.mark.parametrize("processes", [1, 2])
def test_a_rebuild_gives_an_index_made_with_an_older_schema_the_current_one(app, archive, processes):
    """Whoosh keeps the schema an index was created with; a rebuild must bring a changed analysis in."""
    with in_app(app):
        index = app.extensions["zhigu.search"]
        older = build_schema()
        for name, field in (("title", TEXT(analyzer=MultilingualAnalyzer(), phrase=False, vector=True)),
                            ("spell", TEXT(analyzer=RegexTokenizer(r"[^\W\d_]{3,}") | LowercaseFilter(),
                                           phrase=False))):
            older.remove(name)
            older.add(name, field)
        whoosh_index.create_in(str(index.directory), older)
        index._index = None  # reopened from the directory
        assert type(index.index.schema["spell"].analyzer) is not SpellingAnalyzer

        assert outbox.rebuild(index, processes=processes) == 24

        schema = whoosh_index.open_dir(str(index.directory)).schema
        assert type(schema["spell"].analyzer) is SpellingAnalyzer
        assert type(schema["title"].format) is TermCounts and schema["title"].vector is schema["title"].format
        assert search_cases(None, "irigation").did_you_mean == "irrigation"
    assert snapshot(app)["segments"] == processes
