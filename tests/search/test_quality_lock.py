"""Lock in "find similar" quality on a small fixed archive: in each language the right case must come first.

A ranking change that breaks one of these fails CI; bench/quality.py measures the real thing.
"""
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
