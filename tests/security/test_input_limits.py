"""Integers past a SQL `integer` column (32 bits signed on PostgreSQL) are refused up front: 404 in URLs,
422 in JSON bodies, never a 500 (found by fuzzing: PostgreSQL and the SQLite driver overflow on them)."""
import pytest

HUGE = 2**31  # one past the largest PostgreSQL `integer`


@pytest.mark.parametrize("path", [f"/cases/{HUGE}", f"/api/v1/cases/{HUGE}", f"/api/v1/initiatives/{HUGE}",
                                  f"/comments/{HUGE}/edit", f"/api/v1/cases/{10**30}/comments"])
def test_ids_past_an_integer_column_in_urls_are_not_found(client, path):
    response = client.get(path)

    assert response.status_code == 404


def test_the_largest_integer_id_is_still_looked_up(client):
    assert client.get(f"/api/v1/cases/{HUGE - 1}").status_code == 404  # looked up, and absent


@pytest.mark.parametrize("body, field", [
    ({"description": "Networked street lights in a park.", "case_id": HUGE, "verdict": "relevant"}, "case_id"),
    ({"ids": [1, -HUGE - 1]}, "ids"),
    ({"ids": [2**63]}, "ids"),
    ({"kind": "case", "target": "1", "nested": {"deep": [HUGE]}}, "nested"),
])
def test_integers_past_an_integer_column_in_json_bodies_are_422(app, api_as, cast, body, field):
    api = api_as(cast.member_a)

    response = api.post("/api/v1/notifications/read", json=body)

    assert response.status_code == 422
    assert response.get_json()["errors"][field] == ["Number out of range."]


def test_ordinary_integers_and_booleans_pass(api_as, cast):
    response = api_as(cast.member_a).post("/api/v1/notifications/read", json={"ids": [1, 2], "flag": True})

    assert response.status_code == 200


@pytest.mark.parametrize("number", [HUGE, 2**63, 10**30])
def test_integers_past_an_integer_column_in_html_forms_are_422(app, cast, make_case, auth, number):
    case = make_case(cast.author)
    auth.login(cast.author)

    link = auth.client.post(f"/cases/{case.id}/links", data={"target_id": str(number), "type": "same_root_cause"})
    reply = auth.client.post(f"/cases/{case.id}/comments", data={"body": "A reply.", "parent_id": str(number)})

    assert link.status_code == reply.status_code == 422
    assert "Number out of range." in link.get_data(as_text=True)
