import gc
import json

import pytest

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
