"""/api/v1/cases and /api/v1/causes: status codes, bodies, and each role's rights."""
import pytest

from helpers import ALL_USERS, as_user, case_data, in_app
from zhigu.archive.models import Cause, FailureCase
from zhigu.extensions import db

# -- create -----------------------------------------------------------------------------------------

def test_create_case_returns_201_with_the_case(app, api_as, cast):
    response = api_as(cast.author).post("/api/v1/cases", json=case_data(
        causes=["market.needs_mismatch", "partners.brand_damage"], primary_cause="partners.brand_damage",
        money_lost="1200000", currency="cny", started_on="2019-04-01", ended_on="2021-06-30"))

    assert response.status_code == 201
    body = response.get_json()
    assert body["id"] > 0
    assert body["url"].endswith(f"/cases/{body['id']}")
    assert response.headers["Location"].endswith(f"/api/v1/cases/{body['id']}")
    assert body["status"] == "draft"
    assert body["causes"] == ["partners.brand_damage", "market.needs_mismatch"]
    assert body["primary_cause"] == "partners.brand_damage"
    assert body["money_lost"] == "1200000.00"
    assert body["currency"] == "CNY"
    assert body["started_on"] == "2019-04-01"
    assert body["park"] == "park-a"
    assert body["author"] == "Author A"
    with in_app(app):
        assert db.session.get(FailureCase, body["id"]).title == case_data()["title"]


def test_who_may_create_cases(app, api_as, cast):
    statuses = {who: as_user(api_as, cast, who).post("/api/v1/cases", json=case_data()).status_code
                for who in ("visitor", "member_a", "curator_a", "manager_b", "admin")}

    assert statuses == {"visitor": 401, "member_a": 403, "curator_a": 201, "manager_b": 201, "admin": 201}
    with in_app(app):
        assert db.session.query(FailureCase).count() == 3


def test_refusals_are_json_with_a_message(api_as, cast):
    for who in ("visitor", "member_a"):
        response = as_user(api_as, cast, who).post("/api/v1/cases", json=case_data())
        assert response.is_json
        assert response.get_json()["error"]


def test_invalid_case_gets_422_with_field_errors(api_as, cast):
    response = api_as(cast.author).post("/api/v1/cases", json={
        "title": "x", "started_on": "2022-01-01", "ended_on": "2021-01-01",
        "target_markets": ["KZ", "XY"], "money_lost": "10", "currency": "ABC",
    })

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) >= {"title", "summary"}
    assert errors["summary"] == ["Missing data for required field."]
    assert all(isinstance(messages, (list, dict)) for messages in errors.values())


@pytest.mark.parametrize("overrides, field", [
    ({"started_on": "2022-01-01", "ended_on": "2021-01-01"}, "ended_on"),
    ({"target_markets": ["XY"]}, "target_markets"),
    ({"money_lost": "10", "currency": "ABC"}, "currency"),
    ({"causes": ["market.no_demand"], "primary_cause": "money.cash_out"}, "primary_cause"),
    ({"causes": ["market.not_a_cause"]}, "causes"),
    ({"sector": "mining"}, "sector"),
])
def test_each_rule_is_a_422_on_its_field(api_as, cast, overrides, field):
    response = api_as(cast.author).post("/api/v1/cases", json=case_data(**overrides))

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert list(errors) == [field]
    assert errors[field] and all(isinstance(m, str) for m in _messages(errors[field]))


def _messages(value):
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    return list(value)


def test_retired_cause_is_a_422(app, api_as, cast):
    with in_app(app):
        db.session.query(Cause).filter_by(code="money.cash_out").one().retired = True
        db.session.commit()

    response = api_as(cast.author).post("/api/v1/cases", json=case_data(causes=["money.cash_out"]))

    assert response.status_code == 422
    assert "retired" in response.get_json()["errors"]["causes"][0]


@pytest.mark.parametrize("kwargs", [
    {"data": "{not json", "content_type": "application/json"},
    {"data": "[1, 2]", "content_type": "application/json"},
    {"data": '"a string"', "content_type": "application/json"},
    {"data": "title=Hello", "content_type": "application/x-www-form-urlencoded"},
    {},
])
def test_malformed_body_is_a_400(api_as, cast, kwargs):
    response = api_as(cast.author).post("/api/v1/cases", **kwargs)

    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["error"]


def test_unauthenticated_requests_get_json_401_not_a_redirect(client):
    response = client.post("/api/v1/cases", json=case_data())

    assert response.status_code == 401
    assert response.is_json
    assert "log in" in response.get_json()["error"]


def test_session_login_also_authenticates_the_api(client, auth, cast):
    auth.login(cast.author)

    response = client.post("/api/v1/cases", json=case_data())

    assert response.status_code == 201


def test_unknown_api_paths_and_methods_answer_in_json(api_as, cast, make_case):
    case = make_case(cast.author)
    api = api_as(cast.author)

    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json
    wrong_method = api.delete(f"/api/v1/cases/{case.id}")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert api.get("/api/v1/cases/999999").status_code == 404


# -- read -------------------------------------------------------------------------------------------

VISIBLE = {
    "public": set(ALL_USERS),
    "park": {"author", "member_a", "curator_a", "manager_a", "admin"},
    "private": {"author", "manager_a", "admin"},
    "draft": {"author", "manager_a", "admin"},
}


@pytest.mark.parametrize("visibility", list(VISIBLE))
def test_get_case_by_role(api_as, cast, make_case, visibility):
    if visibility == "draft":
        case = make_case(cast.author, status="draft")
    else:
        case = make_case(cast.author, visibility=visibility)

    statuses, leaked = {}, []
    for who in ALL_USERS:
        response = as_user(api_as, cast, who).get(f"/api/v1/cases/{case.id}")
        statuses[who] = response.status_code
        if response.status_code == 200:
            assert response.get_json()["id"] == case.id
        elif case.title in response.get_data(as_text=True):
            leaked.append(who)

    assert statuses == {who: 200 if who in VISIBLE[visibility] else 404 for who in ALL_USERS}
    assert leaked == []


def test_retracted_case_stays_readable_and_says_so(api_as, cast, make_case):
    case = make_case(cast.author, status="retracted")

    body = api_as(None).get(f"/api/v1/cases/{case.id}").get_json()

    assert body["status"] == "retracted"
    assert body["retraction_reason"] == "Retracted by the test factory."


def test_anonymized_org_name_in_the_api(api_as, cast, make_case):
    case = make_case(cast.author, org_name="Huaxin Lighting Group", org_type="soe", anonymize=True)

    shown = {}
    for who in ALL_USERS:
        response = as_user(api_as, cast, who).get(f"/api/v1/cases/{case.id}")
        shown[who] = response.get_json()["org_name"]
        assert ("Huaxin" in response.get_data(as_text=True)) is (shown[who] is not None)

    assert shown == {who: "Huaxin Lighting Group" if who in {"author", "manager_a", "admin"} else None
                     for who in ALL_USERS}


# -- edit -------------------------------------------------------------------------------------------

PATCH_STATUS = {
    "visitor": 401, "author": 200, "member_a": 403, "curator_a": 403, "manager_a": 200, "member_b": 403,
    "curator_b": 403, "manager_b": 403, "admin": 200,
}


def test_patch_public_case_by_role(app, api_as, cast, make_case):
    cases = {who: make_case(cast.author) for who in ALL_USERS}

    statuses = {who: as_user(api_as, cast, who).patch(f"/api/v1/cases/{cases[who].id}",
                                                      json={"lessons": f"Edited by {who}"}).status_code
                for who in ALL_USERS}

    assert statuses == PATCH_STATUS
    with in_app(app):
        edited = {who for who, case in cases.items()
                  if db.session.get(FailureCase, case.id).lessons == f"Edited by {who}"}
    assert edited == {who for who, status in PATCH_STATUS.items() if status == 200}


def test_patch_private_case_by_role(api_as, cast, make_case):
    case = make_case(cast.author, visibility="private")
    users = ["visitor", "member_a", "curator_a", "manager_a", "curator_b", "manager_b", "admin"]

    statuses = {who: as_user(api_as, cast, who).patch(f"/api/v1/cases/{case.id}", json={"lessons": "Edited"})
                .status_code for who in users}

    assert statuses == {"visitor": 404, "member_a": 404, "curator_a": 404, "manager_a": 200, "curator_b": 404,
                        "manager_b": 404, "admin": 200}


def test_patch_records_a_revision_listed_by_the_api(api_as, cast, make_case):
    case = make_case(cast.author)
    api = api_as(cast.manager_a)

    response = api.patch(f"/api/v1/cases/{case.id}", json={"title": "Smart lighting pilot, second look",
                                                           "sector": "energy"})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Smart lighting pilot, second look"

    revisions = api.get(f"/api/v1/cases/{case.id}/revisions").get_json()
    latest = revisions[0]
    assert latest["action"] == "edit"
    assert latest["editor"] == cast.manager_a.display_name
    assert latest["changes"] == {
        "title": {"old": case.title, "new": "Smart lighting pilot, second look"},
        "sector": {"old": "construction", "new": "energy"},
    }


def test_patch_with_invalid_values_is_a_422_and_changes_nothing(app, api_as, cast, make_case):
    case = make_case(cast.author)

    response = api_as(cast.author).patch(f"/api/v1/cases/{case.id}",
                                         json={"title": "ok title", "target_markets": ["XY"]})

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["target_markets"]
    with in_app(app):
        assert db.session.get(FailureCase, case.id).title == case.title


def test_patch_with_malformed_json_is_a_400(api_as, cast, make_case):
    case = make_case(cast.author)

    response = api_as(cast.author).patch(f"/api/v1/cases/{case.id}", data="{", content_type="application/json")

    assert response.status_code == 400


# -- publish and retract ----------------------------------------------------------------------------

def test_publish_draft_by_role(api_as, cast, make_case):
    expected = {"visitor": 404, "author": 200, "member_a": 404, "curator_a": 404, "manager_a": 200,
                "manager_b": 404, "admin": 200}
    drafts = {who: make_case(cast.author, status="draft") for who in expected}

    responses = {who: as_user(api_as, cast, who).post(f"/api/v1/cases/{drafts[who].id}/publish")
                 for who in expected}

    assert {who: r.status_code for who, r in responses.items()} == expected
    for who, response in responses.items():
        if response.status_code == 200:
            assert response.get_json()["status"] == "published"
            assert response.get_json()["published_at"]


def test_publish_twice_is_409_and_without_causes_is_422(api_as, cast, make_case):
    api = api_as(cast.author)
    published = make_case(cast.author)
    bare = make_case(cast.author, status="draft", causes=[])

    assert api.post(f"/api/v1/cases/{published.id}/publish").status_code == 409
    response = api.post(f"/api/v1/cases/{bare.id}/publish")
    assert response.status_code == 422
    assert "causes" in response.get_json()["errors"]


def test_retract_by_role(api_as, cast, make_case):
    expected = {"visitor": 401, "author": 200, "member_a": 403, "curator_a": 403, "manager_a": 200,
                "curator_b": 403, "manager_b": 403, "admin": 200}
    cases = {who: make_case(cast.author) for who in expected}

    responses = {who: as_user(api_as, cast, who).post(f"/api/v1/cases/{cases[who].id}/retract",
                                                      json={"reason": "The figures were disputed."})
                 for who in expected}

    assert {who: r.status_code for who, r in responses.items()} == expected
    for response in responses.values():
        if response.status_code == 200:
            assert response.get_json()["status"] == "retracted"
            assert response.get_json()["retraction_reason"] == "The figures were disputed."


@pytest.mark.parametrize("body, status", [({}, 422), ({"reason": "no"}, 422), (None, 400)])
def test_retract_needs_a_reason(app, api_as, cast, make_case, body, status):
    case = make_case(cast.author)

    response = api_as(cast.author).post(f"/api/v1/cases/{case.id}/retract", json=body)

    assert response.status_code == status
    if status == 422:
        assert "reason" in response.get_json()["errors"]
    with in_app(app):
        assert db.session.get(FailureCase, case.id).status == "published"


def test_retracting_a_draft_is_a_conflict(api_as, cast, make_case):
    case = make_case(cast.author, status="draft")

    response = api_as(cast.author).post(f"/api/v1/cases/{case.id}/retract", json={"reason": "Withdrawn early."})

    assert response.status_code == 409


# -- causes -----------------------------------------------------------------------------------------

def test_causes_lists_the_taxonomy_for_everyone(client):
    response = client.get("/api/v1/causes")

    assert response.status_code == 200
    causes = response.get_json()
    assert 15 <= len(causes) <= 25
    assert set(causes[0]) == {"code", "family", "label_en", "label_zh", "retired"}
    by_code = {c["code"]: c for c in causes}
    assert by_code["policy.local_protectionism"]["family"] == "policy"
    assert by_code["policy.political_risk_abroad"]["label_zh"] == "海外政治风险"
    assert not any(c["retired"] for c in causes)


def test_api_responses_are_not_cached(client):
    assert client.get("/api/v1/causes").headers["Cache-Control"] == "no-store"


def test_revisions_follow_the_cases_visibility(api_as, cast, make_case):
    case = make_case(cast.author, visibility="park")
    api_as(cast.author).patch(f"/api/v1/cases/{case.id}", json={"lessons": "Second thoughts."})

    statuses = {who: as_user(api_as, cast, who).get(f"/api/v1/cases/{case.id}/revisions").status_code
                for who in ("visitor", "member_a", "member_b", "manager_a", "admin")}

    assert statuses == {"visitor": 404, "member_a": 200, "member_b": 404, "manager_a": 200, "admin": 200}


def test_revisions_do_not_reveal_an_anonymized_organization(api_as, cast, make_case):
    case = make_case(cast.author, org_name="Huaxin Lighting Group", anonymize=True)
    api_as(cast.author).patch(f"/api/v1/cases/{case.id}", json={"org_name": "Huaxin Lighting Holdings"})

    for who in ("visitor", "member_a", "curator_a", "manager_b"):
        response = as_user(api_as, cast, who).get(f"/api/v1/cases/{case.id}/revisions")
        assert response.status_code == 200
        assert "Huaxin" not in response.get_data(as_text=True), who
        assert response.get_json()[0]["changes"]["org_name"]["hidden"] is True
    for who in ("author", "manager_a", "admin"):
        changes = as_user(api_as, cast, who).get(f"/api/v1/cases/{case.id}/revisions").get_json()[0]["changes"]
        assert changes["org_name"] == {"old": "Huaxin Lighting Group", "new": "Huaxin Lighting Holdings"}, who


def test_unexpected_errors_are_a_json_500_without_a_traceback(app, caplog):
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/boom", view_func=boom)
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    response = app.test_client().get("/api/v1/boom")

    assert response.status_code == 500
    assert response.is_json
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # logged for the operators
