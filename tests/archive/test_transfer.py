import gc
import json

import pytest
from sqlalchemy.orm import Session

from helpers import case_data, in_app
from zhigu.archive.models import FailureCase
from zhigu.archive.transfer import ImportFailed, import_cases
from zhigu.db import cyclic_gc_paused
from zhigu.extensions import db


@pytest.fixture
def collector_on():
    """Leave the collector as the test found it, whatever the test does."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_paused_inside_and_on_again_after_a_failure(collector_on):
    with pytest.raises(RuntimeError):
        with cyclic_gc_paused():
            assert not gc.isenabled()
            with cyclic_gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the inner block does not switch it on for the outer one
            raise RuntimeError

    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off(collector_on):
    gc.disable()
    with cyclic_gc_paused():
        pass

    assert not gc.isenabled()


def test_an_import_writes_its_cases_and_leaves_the_collector_on(app, collector_on):
    lines = [json.dumps(case_data(external_id=f"gc-{number}", title=f"Cold chain pilot {number}"))
             for number in range(3)]
    with in_app(app):
        assert import_cases(lines) == {"created": 3, "updated": 0, "unchanged": 0}
        stored = set(db.session.scalars(db.select(FailureCase.external_id)))

    assert stored >= {"gc-0", "gc-1", "gc-2"}
    assert gc.isenabled()


def test_a_bad_file_imports_nothing_and_leaves_the_collector_on(app, collector_on):
    lines = [json.dumps(case_data(external_id="gc-good")), json.dumps(case_data(external_id="gc-bad", title=""))]
    with in_app(app):
        with pytest.raises(ImportFailed) as failed:
            import_cases(lines)
        stored = set(db.session.scalars(db.select(FailureCase.external_id)))

    assert set(failed.value.errors) == {2}
    assert not stored & {"gc-good", "gc-bad"}
    assert gc.isenabled()


def test_an_import_reads_the_sessions_pending_objects_once_a_flush_however_many_cases(app, monkeypatch):
    """Each read of Session.new builds an identity set of every pending object: the search outbox's hook read
    it once per case of the flush, which made a 100,000-case import quadratic (it ran 20 minutes without
    finishing; 10,000 cases took 31 s of CPU instead of 8)."""
    reads = []
    pending = Session.new
    monkeypatch.setattr(Session, "new", property(lambda session: reads.append(session) or pending.fget(session)))
    lines = [json.dumps(case_data(external_id=f"flush-{number}", title=f"Cold chain pilot {number}"))
             for number in range(60)]
    with in_app(app):
        assert import_cases(lines)["created"] == 60

    assert 0 < len(reads) <= 6  # the hooks' reads of the one flush, not one per case
