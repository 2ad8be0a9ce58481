"""Initiatives: registering one returns its similar failures; founders' verdicts are stored."""
import pytest
from sqlalchemy import select

from helpers import in_app
from zhigu.extensions import db
from zhigu.initiatives.models import Initiative, Suggestion

INITIATIVE = {
    "title": "Border cold store for fruit exporters",
    "description": "A bonded cold-chain warehouse at Khorgos where exporters store fresh fruit before trucking "
                   "it to Almaty; customs clearance on site and pallets rented by the week.",
    "sector": "logistics",
    "target_markets": ["KZ"],
    "planned_start": "2026-09-01",
}


@pytest.fixture
def cold_chain(cast, make_case):
    return make_case(cast.author, title="Cold-chain warehouse at a border park",
                     summary="A refrigerated warehouse for fruit exporters stood empty because exporters cleared "
                             "customs elsewhere.", sector="logistics", target_markets=["KZ"])


@pytest.fixture
def unrelated(cast, make_case):
    return make_case(cast.author, title="Rooftop solar leasing in Hanoi", narrative="", lessons="",
                     summary="Leases were cancelled when the feed-in tariff was cut.", sector="energy",
                     target_markets=["VN"])


def register(api, **overrides):
    return api.post("/api/v1/initiatives", json={**INITIATIVE, **overrides})


def test_register_returns_201_with_similar_failures(app, api_as, cast, cold_chain, unrelated):
    response = register(api_as(cast.member_a))

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/initiatives/{body['id']}")
    assert body["title"] == INITIATIVE["title"]
    assert body["planned_start"] == "2026-09-01"
    assert body["target_markets"] == ["KZ"]
    assert body["url"].endswith(f"/initiatives/{body['id']}")
    similar = body["similar"]
    assert [s["id"] for s in similar] == [cold_chain.id]
    first = similar[0]
    assert first["rank"] == 1
    assert first["verdict"] is None
    assert first["why"]["sector"] == "logistics"
    assert first["why"]["target_markets"] == ["KZ"]
    assert "warehouse" in [t.lower() for t in first["why"]["terms"]]
    with in_app(app):
        initiative = db.session.get(Initiative, body["id"])
        assert initiative.founder_id == cast.member_a.id
        assert [(s.case_id, s.rank) for s in initiative.suggestions] == [(cold_chain.id, 1)]


def test_lowercase_markets_are_stored_as_codes(api_as, cast, cold_chain):
    body = register(api_as(cast.member_a), target_markets=["kz", "uz"]).get_json()

    assert body["target_markets"] == ["KZ", "UZ"]
    assert body["similar"][0]["why"]["target_markets"] == ["KZ"]


def test_visitors_must_log_in_to_register(api_as, cold_chain):
    response = register(api_as(None))

    assert response.status_code == 401


@pytest.mark.parametrize("overrides, field", [
    ({"description": None}, "description"),
    ({"description": "short"}, "description"),
    ({"title": ""}, "title"),
    ({"sector": "mining"}, "sector"),
    ({"target_markets": ["XY"]}, "target_markets"),
    ({"planned_start": "next spring"}, "planned_start"),
])
def test_invalid_initiatives_are_422(app, api_as, make_user, overrides, field):
    body = {k: v for k, v in {**INITIATIVE, **overrides}.items() if v is not None}

    response = api_as(make_user()).post("/api/v1/initiatives", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    with in_app(app):
        assert db.session.scalar(select(Initiative.id)) is None


def test_register_with_malformed_json_is_400(api_as, cast):
    response = api_as(cast.member_a).post("/api/v1/initiatives", data="{", content_type="application/json")

    assert response.status_code == 400


def test_similar_list_of_an_initiative_respects_visibility(api_as, cast, make_case):
    private = make_case(cast.author, visibility="private", title="Private cold-chain warehouse",
                        summary="A refrigerated warehouse for fruit exporters at the border.")

    assert register(api_as(cast.member_a)).get_json()["similar"] == []
    assert [s["id"] for s in register(api_as(cast.manager_a)).get_json()["similar"]] == [private.id]


def test_initiative_is_seen_by_its_founder_and_admins_only(api_as, cast, cold_chain):
    initiative_id = register(api_as(cast.member_a)).get_json()["id"]
    path = f"/api/v1/initiatives/{initiative_id}"

    assert api_as(cast.member_a).get(path).status_code == 200
    assert api_as(cast.admin).get(path).status_code == 200
    assert api_as(cast.member_b).get(path).status_code == 404
    assert api_as(cast.manager_a).get(path).status_code == 404
    assert api_as(None).get(path).status_code == 404  # hidden looks missing
    assert api_as(cast.member_a).get("/api/v1/initiatives/9999").status_code == 404


def test_retracted_case_drops_out_of_a_stored_similar_list(api_as, cast, cold_chain):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]

    api_as(cast.author).post(f"/api/v1/cases/{cold_chain.id}/retract", json={"reason": "Duplicate entry."})

    assert founder.get(f"/api/v1/initiatives/{initiative_id}").get_json()["similar"] == []


# -- feedback ---------------------------------------------------------------------------------------

def feedback(api, initiative_id, **body):
    return api.post(f"/api/v1/initiatives/{initiative_id}/feedback", json=body)


def test_feedback_is_stored_and_a_second_verdict_replaces_the_first(app, api_as, cast, cold_chain):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]

    first = feedback(founder, initiative_id, case_id=cold_chain.id, verdict="relevant",
                     note="We clear customs on site, which they did not.")
    assert first.status_code == 200
    assert first.get_json()["verdict"] == "relevant"
    assert first.get_json()["verdict_at"]

    second = feedback(founder, initiative_id, case_id=cold_chain.id, verdict="not_relevant",
                      note="Ignored for a not-relevant verdict.")
    assert second.status_code == 200

    with in_app(app):
        rows = db.session.scalars(select(Suggestion).where(Suggestion.initiative_id == initiative_id)).all()
        assert [(s.case_id, s.rank, s.verdict, s.note) for s in rows] == [(cold_chain.id, 1, "not_relevant", "")]
    shown = founder.get(f"/api/v1/initiatives/{initiative_id}").get_json()["similar"][0]
    assert shown["verdict"] == "not_relevant"


def test_relevant_verdict_keeps_its_note(app, api_as, cast, cold_chain):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]

    feedback(founder, initiative_id, case_id=cold_chain.id, verdict="relevant", note="Ours has a buyer lined up.")

    with in_app(app):
        suggestion = db.session.scalar(select(Suggestion).where(Suggestion.case_id == cold_chain.id))
        assert (suggestion.verdict, suggestion.note) == ("relevant", "Ours has a buyer lined up.")


def test_feedback_on_a_visible_case_that_was_not_suggested_is_kept(app, api_as, cast, cold_chain, unrelated):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]

    response = feedback(founder, initiative_id, case_id=unrelated.id, verdict="relevant", note="Same landlord.")

    assert response.status_code == 200
    with in_app(app):
        suggestion = db.session.scalar(select(Suggestion).where(Suggestion.case_id == unrelated.id))
        assert suggestion.rank is None
        assert suggestion.verdict == "relevant"


@pytest.mark.parametrize("case_name", ["private_of_other_park", "draft", "missing"])
def test_feedback_on_a_case_the_founder_cannot_see_is_422(app, api_as, cast, make_case, cold_chain, case_name):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]
    case_id = {
        "private_of_other_park": lambda: make_case(cast.curator_b, visibility="private").id,
        "draft": lambda: make_case(cast.author, status="draft").id,
        "missing": lambda: 99999,
    }[case_name]()

    response = feedback(founder, initiative_id, case_id=case_id, verdict="relevant", note="")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["case_id"]
    with in_app(app):
        assert db.session.scalar(select(Suggestion).where(Suggestion.case_id == case_id)) is None


@pytest.mark.parametrize("body, field", [
    ({"verdict": "relevant"}, "case_id"),
    ({"case_id": "abc", "verdict": "relevant"}, "case_id"),
    ({"verdict": "maybe"}, "verdict"),
    ({}, "verdict"),
])
def test_invalid_feedback_is_422(api_as, cast, cold_chain, body, field):
    founder = api_as(cast.member_a)
    initiative_id = register(founder).get_json()["id"]
    body = {"case_id": cold_chain.id, **body} if "case_id" not in body and field != "case_id" else body

    response = founder.post(f"/api/v1/initiatives/{initiative_id}/feedback", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_only_the_founder_gives_feedback(api_as, cast, cold_chain):
    initiative_id = register(api_as(cast.member_a)).get_json()["id"]
    body = {"case_id": cold_chain.id, "verdict": "relevant"}

    assert api_as(cast.member_b).post(f"/api/v1/initiatives/{initiative_id}/feedback", json=body).status_code == 404
    assert api_as(None).post(f"/api/v1/initiatives/{initiative_id}/feedback", json=body).status_code == 404


def test_similar_leaves_out_the_case_being_edited(api_as, cast, cold_chain):
    """The case form asks for the cases like the one being edited: that case is no duplicate of itself."""
    body = {"description": "A refrigerated warehouse for fruit exporters at a border park stood empty.",
            "title": "Cold-chain warehouse at a border park"}
    found = api_as(cast.author).post("/api/v1/similar", json=body).get_json()["results"]
    assert cold_chain.id in [result["id"] for result in found]
    left_out = api_as(cast.author).post("/api/v1/similar", json={**body, "exclude_id": cold_chain.id}).get_json()
    assert cold_chain.id not in [result["id"] for result in left_out["results"]]
    bad = api_as(cast.author).post("/api/v1/similar", json={**body, "exclude_id": "x"})
    assert bad.status_code == 422 and "exclude_id" in bad.get_json()["errors"]
