"""Merges and the audit trail never carry a case across the line of who may open it.

- merging needs the right to edit both cases;
- what a merge moves into a more visible case (comments, links) moves only after an explicit confirmation;
- audit entries that name a case the reader may not open leave out its id, title, link notes and the reason;
- a merged case's URL redirects only readers who may open the kept case and could open the merged one; others
  get the 404 of an unknown id.
"""
import re

from helpers import in_app, reload
from zhigu.comments import services as comment_services
from zhigu.comments.models import Comment
from zhigu.extensions import db
from zhigu.links import services
from zhigu.notify.models import Subscription

SECRET = "Zorblax battery recall"
NOTE = "Same glorbnik supplier as the recall"


def _private_case_with_comment(app, cast, make_case):
    """Park A's private case (filed by its curator) with one comment by park A's manager."""
    private = make_case(cast.author, title=SECRET, visibility="private")
    with in_app(app):
        comment_services.create_comment(reload(cast.manager_a), reload(private), {"body": "Internal: quintary leak"})
    return private


def _merge(api_as, who, duplicate, kept, **body):
    return api_as(who).post(f"/api/v1/cases/{duplicate.id}/merge-into/{kept.id}", json=body)


# -- merging ------------------------------------------------------------------------------------------

def test_merging_into_a_case_of_another_park_needs_the_right_to_edit_it(app, cast, make_case, api_as):
    private = _private_case_with_comment(app, cast, make_case)
    public_b = make_case(cast.curator_b, title="Park B public pilot")

    response = _merge(api_as, cast.manager_a, private, public_b, confirm_visibility=True)

    assert response.status_code == 403
    assert "edit" in response.get_json()["error"]
    assert _merge(api_as, cast.manager_b, private, public_b).status_code == 404  # may not even open it
    into_hidden, into_missing = _merge(api_as, cast.manager_b, public_b, private), \
        api_as(cast.manager_b).post(f"/api/v1/cases/{public_b.id}/merge-into/999999", json={})
    assert into_hidden.status_code == into_missing.status_code == 422
    assert into_hidden.get_json() == into_missing.get_json() == {"errors": {"kept_id": ["No such case."]}}
    assert api_as(None).get(f"/api/v1/cases/{public_b.id}/comments").get_json() == []
    with in_app(app):
        assert reload(private).status == "published"
        assert db.session.query(Comment).one().case_id == private.id


def test_merging_into_a_more_visible_case_needs_confirmation(app, cast, make_case, api_as):
    private = _private_case_with_comment(app, cast, make_case)
    public = make_case(cast.author, title="Park A public pilot")

    refused = _merge(api_as, cast.manager_a, private, public)

    assert refused.status_code == 422
    message = refused.get_json()["errors"]["confirm_visibility"][0]
    assert "1 comment(s)" in message and "wider audience" in message
    assert api_as(None).get(f"/api/v1/cases/{public.id}/comments").get_json() == []
    assert _merge(api_as, cast.manager_a, private, public, confirm_visibility=False).status_code == 422

    done = _merge(api_as, cast.manager_a, private, public, confirm_visibility=True)

    assert done.status_code == 200
    bodies = [c["body"] for c in api_as(None).get(f"/api/v1/cases/{public.id}/comments").get_json()]
    assert bodies == ["Internal: quintary leak"]


def test_merging_into_a_case_no_more_visible_needs_no_confirmation(app, cast, make_case, api_as):
    dup = make_case(cast.author, title="Duplicate entry")
    with in_app(app):
        comment_services.create_comment(reload(cast.member_b), reload(dup), {"body": "Seen it"})
    kept = make_case(cast.author, title="Kept entry")

    assert _merge(api_as, cast.manager_a, dup, kept).status_code == 200


def test_merge_form_asks_for_the_confirmation(app, cast, make_case, client, auth):
    private = _private_case_with_comment(app, cast, make_case)
    public = make_case(cast.author, title="Park A public pilot")
    auth.login(cast.manager_a)

    form = client.get(f"/cases/{private.id}/merge").get_data(as_text=True)
    refused = client.post(f"/cases/{private.id}/merge", data={"kept_id": str(public.id)})

    assert 'name="confirm_visibility"' in form
    assert refused.status_code == 422 and "wider audience" in refused.get_data(as_text=True)
    done = client.post(f"/cases/{private.id}/merge", data={"kept_id": str(public.id), "confirm_visibility": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{public.id}")


def test_merge_form_says_when_the_kept_case_may_not_be_edited(app, cast, make_case, client, auth):
    dup = make_case(cast.author, title="Park A entry")
    public_b = make_case(cast.curator_b, title="Park B public pilot")
    auth.login(cast.manager_a)

    response = client.post(f"/cases/{dup.id}/merge", data={"kept_id": str(public_b.id)})

    assert response.status_code == 403
    assert "You may not edit the case to keep" in response.get_data(as_text=True)


def test_followers_who_may_not_open_the_kept_case_are_not_moved(app, cast, make_case, api_as):
    dup = make_case(cast.author, title="Park A members' entry", visibility="park")
    kept = make_case(cast.curator_b, title="Park B members' entry", visibility="park")
    with in_app(app):
        db.session.add(Subscription(user_id=cast.member_a.id, kind="case", target=str(dup.id)))
        db.session.commit()

    assert _merge(api_as, cast.admin, dup, kept).status_code == 200

    with in_app(app):
        assert db.session.query(Subscription).one().target == str(dup.id)


# -- the audit trail ----------------------------------------------------------------------------------

def test_removed_link_to_a_hidden_case_is_redacted_in_the_audit(app, cast, make_case, api_as, client, auth):
    private = make_case(cast.author, title=SECRET, visibility="private")
    public_b = make_case(cast.curator_b, title="Park B public pilot")
    created = api_as(cast.manager_a).post(f"/api/v1/cases/{private.id}/links",
                                          json={"target_id": public_b.id, "type": "related", "note": NOTE})
    assert created.status_code == 201
    assert api_as(cast.manager_a).delete(f"/api/v1/links/{created.get_json()['id']}").status_code == 204

    response = api_as(cast.manager_b).get(f"/api/v1/cases/{public_b.id}/audit")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert SECRET not in text and NOTE not in text
    [entry] = response.get_json()
    assert entry["action"] == "link.delete" and entry["redacted"] is True
    assert entry["details"]["source_id"] is None and entry["details"]["target_id"] == public_b.id
    # whoever may open both cases reads the whole entry
    for who in (cast.admin, cast.manager_a):
        full = api_as(who).get(f"/api/v1/cases/{private.id}/audit").get_json()[0]
        assert full["redacted"] is False and full["details"]["note"] == NOTE and SECRET in full["details"]["summary"]
    auth.login(cast.manager_b)
    page = client.get(f"/cases/{public_b.id}").get_data(as_text=True)
    assert "Moderation record" in page and SECRET not in page and NOTE not in page


def test_merge_of_a_hidden_case_is_redacted_in_the_kept_cases_audit(app, cast, make_case, api_as):
    private = _private_case_with_comment(app, cast, make_case)
    with in_app(app):
        services.create_link(reload(cast.author), reload(private),
                             {"target_id": make_case(cast.author).id, "type": "related", "note": NOTE})
    public_b = make_case(cast.curator_b, title="Park B public pilot")
    assert _merge(api_as, cast.admin, private, public_b, confirm_visibility=True,
                  reason=f"{SECRET} was filed twice").status_code == 200

    response = api_as(cast.manager_b).get(f"/api/v1/cases/{public_b.id}/audit")

    text = response.get_data(as_text=True)
    assert response.status_code == 200 and SECRET not in text and NOTE not in text
    [entry] = response.get_json()
    assert entry["action"] == "case.merge" and entry["redacted"] is True and entry["reason"] is None
    assert entry["details"]["duplicate_id"] is None and entry["details"]["kept_id"] == public_b.id
    admin_view = api_as(cast.admin).get(f"/api/v1/cases/{public_b.id}/audit").get_json()[0]
    assert admin_view["details"]["duplicate_title"] == SECRET and admin_view["redacted"] is False


# -- merged URLs --------------------------------------------------------------------------------------

def test_merged_url_redirects_only_readers_of_both_cases(app, cast, make_case, api_as, client, auth):
    private = _private_case_with_comment(app, cast, make_case)
    public_b = make_case(cast.curator_b, title="Park B public pilot")
    assert _merge(api_as, cast.admin, private, public_b, confirm_visibility=True).status_code == 200
    unknown = 999_999

    def normalized(response, case_id):
        text = re.sub(rf"(/|%2F){case_id}(?!\d)", r"\1ID", response.get_data(as_text=True))
        return response.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "", text)

    for who in (None, cast.member_a, cast.manager_b, cast.curator_b):
        api = api_as(who)
        merged, missing = api.get(f"/api/v1/cases/{private.id}"), api.get(f"/api/v1/cases/{unknown}")
        assert merged.status_code == 404 and normalized(merged, private.id) == normalized(missing, unknown)
    assert normalized(client.get(f"/cases/{private.id}"), private.id) == \
        normalized(client.get(f"/cases/{unknown}"), unknown)
    assert client.get(f"/cases/{private.id}").status_code == 404
    for who in (cast.admin, cast.manager_a, cast.author):
        response = api_as(who).get(f"/api/v1/cases/{private.id}")
        assert response.status_code == 301 and response.headers["Location"].endswith(f"/cases/{public_b.id}")
    auth.login(cast.manager_a)
    response = client.get(f"/cases/{private.id}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/cases/{public_b.id}")
    assert response.headers["Cache-Control"] == "private"  # a shared cache must not replay it to a visitor
