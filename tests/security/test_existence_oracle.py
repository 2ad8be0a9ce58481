"""A hidden object looks exactly like a missing one, to visitors and logged-in users alike.

Same status, same body, on the pages and in the API, for cases, their sub-resources, comments, links,
initiatives, guild listings and guild evidence. Visitors are still asked to log in for what they may open.
Also: the editors of an anonymized case are named only to its park's managers and admins.
"""
import re

import pytest

from helpers import in_app, reload
from zhigu.comments import services as comment_services
from zhigu.extensions import db
from zhigu.guilds import services as guild_services
from zhigu.links import services as link_services

UNKNOWN = 999_999


def _same(response, object_id, missing, missing_id):
    """Compare two answers, ignoring where a page echoes its own address and its per-request CSRF token."""
    def normalized(r, i):
        text = re.sub(rf"(/|%2F|: ){i}(?!\d)", r"\1ID", r.get_data(as_text=True))
        return r.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "", text)
    return normalized(response, object_id) == normalized(missing, missing_id)


@pytest.fixture
def hidden(app, cast, make_case):
    """Park A's private case with a comment, and a link from it to a public case."""
    private = make_case(cast.author, title="Zorblax battery recall", visibility="private")
    public = make_case(cast.author, title="Public pilot")
    with in_app(app):
        comment = comment_services.create_comment(reload(cast.manager_a), reload(private), {"body": "inside"})
        link = link_services.create_link(reload(cast.author), reload(private),
                                         {"target_id": public.id, "type": "related"})
        return {"case": private.id, "comment": comment.id, "link": link.id, "public": public.id}


READERS = (None, "member_a", "member_b", "curator_b", "manager_b")

CASE_REQUESTS = [
    ("GET", "/api/v1/cases/{id}"),
    ("GET", "/api/v1/cases/{id}/revisions"),
    ("GET", "/api/v1/cases/{id}/comments"),
    ("GET", "/api/v1/cases/{id}/links"),
    ("GET", "/api/v1/cases/{id}/audit"),
    ("PATCH", "/api/v1/cases/{id}"),
    ("POST", "/api/v1/cases/{id}/publish"),
    ("POST", "/api/v1/cases/{id}/retract"),
    ("POST", "/api/v1/cases/{id}/comments"),
    ("POST", "/api/v1/cases/{id}/links"),
    ("POST", "/api/v1/cases/{id}/merge-into/1"),
]


@pytest.mark.parametrize("who", READERS)
def test_hidden_case_answers_like_a_missing_one_in_the_api(cast, hidden, api_as, who):
    api = api_as(getattr(cast, who) if who else None)
    for method, path in CASE_REQUESTS:
        body = {"body": "hello", "reason": "why not", "lessons": "x", "target_id": hidden["public"], "type": "related"}
        answer = api.open(path.format(id=hidden["case"]), method, json=body)
        missing = api.open(path.format(id=UNKNOWN), method, json=body)
        assert answer.status_code == 404, (method, path)
        assert _same(answer, hidden["case"], missing, UNKNOWN), (method, path)


@pytest.mark.parametrize("who", READERS)
def test_hidden_comment_and_link_answer_like_missing_ones(cast, hidden, api_as, who):
    api = api_as(getattr(cast, who) if who else None)
    for method, path, key in (("PATCH", "/api/v1/comments/{id}", "comment"),
                              ("DELETE", "/api/v1/comments/{id}", "comment"),
                              ("POST", "/api/v1/comments/{id}/hide", "comment"),
                              ("DELETE", "/api/v1/links/{id}", "link")):
        answer = api.open(path.format(id=hidden[key]), method, json={"body": "x", "reason": "y"})
        missing = api.open(path.format(id=UNKNOWN), method, json={"body": "x", "reason": "y"})
        assert answer.status_code == 404, (method, path)
        assert _same(answer, hidden[key], missing, UNKNOWN), (method, path)


@pytest.mark.parametrize("who", (None, "member_b"))
def test_hidden_case_page_looks_like_a_missing_one(app, cast, hidden, client, auth, who):
    if who:
        auth.login(getattr(cast, who))
    for headers in ({}, {"Accept-Language": "zh"}, {"Accept": "application/json"}):
        answer = client.get(f"/cases/{hidden['case']}", headers=headers)
        missing = client.get(f"/cases/{UNKNOWN}", headers=headers)
        assert answer.status_code == 404
        assert _same(answer, hidden["case"], missing, UNKNOWN)


def test_visitors_are_still_asked_to_log_in_for_what_they_may_open(cast, hidden, api_as, client):
    public = hidden["public"]
    assert api_as(None).post(f"/api/v1/cases/{public}/comments", json={"body": "hi"}).status_code == 401
    assert api_as(None).patch(f"/api/v1/cases/{public}", json={"lessons": "x"}).status_code == 401
    response = client.get(f"/cases/{public}/links")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_credentials_that_name_nobody_get_401_not_404(cast, hidden, client):
    for header in ("Bearer zg_made-up", "Basic dXNlcjpwYXNz"):
        for case_id in (hidden["case"], UNKNOWN, hidden["public"]):
            assert client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": header}).status_code == 401


def test_hidden_initiative_answers_like_a_missing_one(cast, api_as):
    created = api_as(cast.member_a).post("/api/v1/initiatives", json={
        "title": "Border cold store for fruit exporters", "sector": "logistics", "target_markets": ["KZ"],
        "description": "A bonded cold-chain warehouse at Khorgos where exporters store fresh fruit before trucking "
                       "it to Almaty; customs clearance on site and pallets rented by the week."})
    assert created.status_code == 201, created.get_json()
    initiative = created.get_json()["id"]
    for who in (None, cast.member_b, cast.manager_a):
        api = api_as(who)
        answer, missing = api.get(f"/api/v1/initiatives/{initiative}"), api.get(f"/api/v1/initiatives/{UNKNOWN}")
        assert answer.status_code == 404 and _same(answer, initiative, missing, UNKNOWN)


@pytest.fixture
def guild(app, cast, make_user):
    r1, r2 = make_user("member", display_name="Reviewer One"), make_user("member")
    with in_app(app):
        admin = reload(cast.admin)
        guild_services.create_guild(admin, {"slug": "solar", "name": "Solar Guild"})
        for user in (r1, r2):
            guild_services.add_reviewer(admin, {"guild": "solar", "email": user.email})
        guild_services.create_organization(admin, {"name": "Sunny Panels Ltd", "type": "enterprise",
                                                   "region": "Zhejiang/Hangzhou"})
    return r1


def _proposal(evidence):
    return {"organization": "Sunny Panels Ltd", "list": "black", "evidence": evidence,
            "justification": "Paid every supplier late for two years running, per court records."}


def test_unpublished_listing_answers_like_a_missing_one(app, cast, guild, api_as, client):
    created = api_as(guild).post("/api/v1/listings", json=_proposal(["https://court.example.cn/ruling/1"]))
    assert created.status_code == 201, created.get_json()
    listing = created.get_json()["id"]
    for who in (None, cast.member_a):
        api = api_as(who)
        answer, missing = api.get(f"/api/v1/listings/{listing}"), api.get(f"/api/v1/listings/{UNKNOWN}")
        assert answer.status_code == 404 and _same(answer, listing, missing, UNKNOWN)
    answer, missing = client.get(f"/lists/{listing}"), client.get(f"/lists/{UNKNOWN}")
    assert answer.status_code == 404 and _same(answer, listing, missing, UNKNOWN)


def test_guild_evidence_names_a_hidden_case_like_a_missing_one(cast, guild, hidden, api_as):
    answer = api_as(guild).post("/api/v1/listings", json=_proposal([hidden["case"]]))
    missing = api_as(guild).post("/api/v1/listings", json=_proposal([UNKNOWN]))

    assert answer.status_code == missing.status_code == 422
    assert _same(answer, hidden["case"], missing, UNKNOWN)



@pytest.mark.parametrize("ref", ["case:99999999999", 99999999999, "case:²", {"case": "3e9"}])
def test_guild_evidence_with_an_id_no_column_holds_is_a_missing_case(cast, guild, api_as, ref):
    """Ids past the integer range, or digits int() rejects, were looked up as they were: a 500 on PostgreSQL."""
    answer = api_as(guild).post("/api/v1/listings", json=_proposal([ref]))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "evidence" in answer.get_json()["errors"]

# -- editors of anonymized cases ------------------------------------------------------------------------

def test_editors_of_an_anonymized_case_are_named_to_its_managers_only(app, cast, make_case, api_as, client, auth):
    case = make_case(cast.author, title="Anonymized pilot", anonymize=True, org_name="Secret Org Ltd")
    editor = cast.manager_a
    assert api_as(editor).patch(f"/api/v1/cases/{case.id}", json={"lessons": "Second thoughts."}).status_code == 200

    def editors(who):
        return [r["editor"] for r in api_as(who).get(f"/api/v1/cases/{case.id}/revisions").get_json()]

    for who in (None, cast.member_a, cast.member_b, cast.manager_b, cast.author):
        assert set(editors(who)) == {None}
    for who in (cast.manager_a, cast.admin):
        assert editors(who) == [editor.display_name]
    by_editor = f"by {editor.display_name}"
    assert by_editor not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    auth.login(cast.member_a)
    assert by_editor not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    auth.logout()
    auth.login(cast.admin)
    assert by_editor in client.get(f"/cases/{case.id}").get_data(as_text=True)
    auth.logout()
    with in_app(app):  # not anonymized: everyone who may open it reads who edited it
        reload(case).anonymize = False
        db.session.commit()
    assert editors(None) == [editor.display_name]
    assert by_editor in client.get(f"/cases/{case.id}").get_data(as_text=True)
