"""Typed links and merges: services, API, pages, and who may do what."""
import pytest
from marshmallow import ValidationError

from helpers import reload
from zhigu.audit.models import AuditRecord
from zhigu.comments import services as comment_services
from zhigu.comments.models import Comment
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.links import services
from zhigu.links.models import CaseLink
from zhigu.links.schemas import LinkOutSchema
from zhigu.notify.models import Subscription
from zhigu.schemas import dump_for
from zhigu.search.services import search_cases


def test_link_reads_right_from_both_sides(app, cast, make_case):
    first = make_case(cast.author, title="Solar kiosks, first try")
    second = make_case(cast.author, title="Solar kiosks, second try")
    with app.test_request_context():
        link = services.create_link(reload(cast.curator_a), reload(second),
                                    {"target_id": first.id, "type": "second_attempt_of", "note": "Same founders"})
        assert link.label(second.id) == "is a second attempt of"
        assert link.label(first.id) == "was attempted again in"
        assert [l.id for l in services.links_of(reload(cast.member_b), reload(first))] == [link.id]
        data = dump_for(reload(cast.member_b), LinkOutSchema(), link, case_id=first.id)
        assert data["direction"] == "incoming" and data["case"]["id"] == second.id and data["note"] == "Same founders"


def test_link_rules(app, cast, make_case):
    case = make_case(cast.author)
    other = make_case(cast.author, title="Another pilot")
    hidden = make_case(cast.curator_b, title="Park B private pilot", visibility="private")
    with app.app_context():
        curator = reload(cast.curator_a)
        for bad, field in (({"target_id": case.id, "type": "related"}, "target_id"),
                           ({"target_id": hidden.id, "type": "related"}, "target_id"),
                           ({"target_id": 9999, "type": "related"}, "target_id"),
                           ({"target_id": other.id, "type": "friends"}, "type"),
                           ({"type": "related"}, "target_id"),
                           ({"target_id": other.id, "type": "related", "note": "x" * 501}, "note")):
            with pytest.raises(ValidationError) as err:
                services.create_link(curator, reload(case), bad)
            assert field in err.value.messages
        services.create_link(curator, reload(case), {"target_id": other.id, "type": "related"})
        with pytest.raises(ValidationError) as err:  # the same pair, either way round
            services.create_link(curator, reload(other), {"target_id": case.id, "type": "related"})
        assert "type" in err.value.messages
        services.create_link(curator, reload(other), {"target_id": case.id, "type": "contradicts"})
        for who in ("member_a", "member_b"):
            with pytest.raises(PermissionDenied):
                services.create_link(reload(getattr(cast, who)), reload(case), {"target_id": other.id, "type": "duplicate_of"})
        # a reader who may not see one end sees no link
        link = services.create_link(reload(cast.manager_b), reload(case), {"target_id": hidden.id, "type": "related"})
        assert link.id not in {l.id for l in services.links_of(reload(cast.member_a), reload(case))}
        assert link.id in {l.id for l in services.links_of(reload(cast.admin), reload(case))}


def test_delete_link_by_author_or_manager_with_audit(app, cast, make_case):
    case, other = make_case(cast.author), make_case(cast.author, title="Other")
    with app.app_context():
        link = services.create_link(reload(cast.curator_a), reload(case), {"target_id": other.id, "type": "related"})
        for who in ("member_a", "author", "curator_b", "manager_b"):
            with pytest.raises(PermissionDenied):
                services.delete_link(reload(getattr(cast, who)), link)
        services.delete_link(reload(cast.manager_a), link)
        assert db.session.query(CaseLink).count() == 0
        assert {a.case_id for a in db.session.query(AuditRecord).filter_by(action="link.delete")} == {case.id, other.id}


def test_merge_moves_everything_and_redirects(app, cast, make_case, client, auth):
    kept = make_case(cast.author, title="Hydroponic farm in Dubai")
    dup = make_case(cast.curator_a, title="Dubai hydroponics (duplicate entry)")
    third = make_case(cast.author, title="Vertical farm in Abu Dhabi")
    with app.app_context():
        curator = reload(cast.curator_a)
        comment = comment_services.create_comment(reload(cast.member_a), reload(dup), {"body": "glorbnik pumps failed"})
        services.create_link(curator, reload(dup), {"target_id": kept.id, "type": "duplicate_of"})
        services.create_link(curator, reload(dup), {"target_id": third.id, "type": "same_root_cause"})
        services.create_link(curator, reload(kept), {"target_id": third.id, "type": "related"})
        services.create_link(curator, reload(third), {"target_id": dup.id, "type": "related"})  # kept has it
        db.session.add(Subscription(user_id=cast.member_a.id, kind="case", target=str(dup.id)))
        db.session.commit()
        for who in ("author", "curator_a", "member_a", "manager_b"):
            with pytest.raises(PermissionDenied):
                services.merge_case(reload(getattr(cast, who)), reload(dup), {"kept_id": kept.id})
        with pytest.raises(ValidationError):
            services.merge_case(reload(cast.manager_a), reload(dup), {"kept_id": dup.id})
        with pytest.raises(ValidationError):
            services.merge_case(reload(cast.manager_a), reload(dup), {})
        services.merge_case(reload(cast.manager_a), reload(dup), {"kept_id": kept.id, "reason": "Same farm."})
        assert db.session.get(Comment, comment.id).case_id == kept.id
        types = {(l.source_id, l.target_id, l.type) for l in db.session.query(CaseLink)}
        assert types == {(kept.id, third.id, "same_root_cause"), (kept.id, third.id, "related")}
        assert db.session.query(Subscription).one().target == str(kept.id)
        assert reload(dup).status == "retracted"
        audit = db.session.query(AuditRecord).filter_by(action="case.merge", case_id=kept.id).one()
        assert audit.reason == "Same farm." and len(audit.details["dropped_links"]) == 2
        assert comment.id in audit.details["moved_comments"]
        assert {r.case.id for r in search_cases(reload(cast.member_a), "glorbnik", {}).results} == {kept.id}
        with pytest.raises(ZhiguError):
            services.merge_case(reload(cast.manager_a), reload(dup), {"kept_id": third.id})
        with pytest.raises(ValidationError):
            services.merge_case(reload(cast.manager_a), reload(third), {"kept_id": dup.id})
    response = client.get(f"/cases/{dup.id}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/cases/{kept.id}")
    assert client.get(f"/api/v1/cases/{dup.id}").status_code == 301


# -- API ----------------------------------------------------------------------------------------------

def test_api_links_and_merge(app, cast, make_case, api_as):
    case, other = make_case(cast.author), make_case(cast.author, title="Other pilot")
    base = f"/api/v1/cases/{case.id}/links"
    created = api_as(cast.curator_a).post(base, json={"target_id": other.id, "type": "duplicate_of", "note": "same"})
    assert created.status_code == 201 and created.json["label"] == "is a duplicate of"
    assert api_as(cast.curator_a).post(base, json={"target_id": other.id, "type": "duplicate_of"}).status_code == 422
    assert api_as(cast.curator_a).post(base, json={"target_id": case.id, "type": "related"}).status_code == 422
    assert api_as(cast.curator_a).post(base, json={"target_id": "x", "type": "related"}).status_code == 422
    assert api_as(cast.member_a).post(base, json={"target_id": other.id, "type": "related"}).status_code == 403
    assert api_as(None).post(base, json={"target_id": other.id, "type": "related"}).status_code == 401
    seen_from_other = api_as(cast.member_b).get(f"/api/v1/cases/{other.id}/links").json
    assert [(l["label"], l["case"]["id"]) for l in seen_from_other] == [("has a duplicate", case.id)]
    link_path = f"/api/v1/links/{created.json['id']}"
    assert api_as(cast.member_a).delete(link_path).status_code == 403
    merge = f"/api/v1/cases/{case.id}/merge-into/{other.id}"
    assert api_as(cast.curator_a).post(merge).status_code == 403
    assert api_as(cast.manager_a).post(f"/api/v1/cases/{case.id}/merge-into/9999").status_code == 422
    done = api_as(cast.manager_a).post(merge, json={"reason": "Filed twice."})
    assert done.status_code == 200 and done.json["id"] == other.id and done.json["merged"]["duplicate_id"] == case.id
    assert api_as(cast.manager_a).post(merge).status_code == 409
    assert api_as(cast.curator_a).delete(link_path).status_code == 404  # dropped in the merge


def test_api_delete_link(app, cast, make_case, api_as):
    case, other = make_case(cast.author), make_case(cast.author, title="Other pilot")
    created = api_as(cast.curator_a).post(f"/api/v1/cases/{case.id}/links", json={"target_id": other.id, "type": "related"})
    assert api_as(cast.curator_a).delete(f"/api/v1/links/{created.json['id']}").status_code == 204
    assert api_as(cast.curator_a).get(f"/api/v1/cases/{case.id}/links").json == []


# -- pages --------------------------------------------------------------------------------------------

def test_pages_links_suggestions_and_merge(app, cast, make_case, client, auth):
    case = make_case(cast.author, title="Smart lighting pilot in Almaty")
    other = make_case(cast.author, title="Smart lighting pilot in Astana")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Linked cases" not in page  # visitors get no empty section
    auth.login(cast.curator_a)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Suggested from similar cases" in page and f'name="target_id" value="{other.id}"' in page
    assert "Merge this duplicate" not in page
    response = client.post(f"/cases/{case.id}/links", data={"target_id": str(other.id), "type": "related"})
    assert response.status_code == 302
    assert "This case is related to" in client.get(f"/cases/{other.id}").get_data(as_text=True)
    bad = client.post(f"/cases/{case.id}/links", data={"target_id": "", "type": "related"})
    assert bad.status_code == 422 and "field-errors" in bad.get_data(as_text=True)
    form = client.get(f"/cases/{case.id}/links").get_data(as_text=True)
    assert 'id="link-q"' in form and 'name="csrf_token"' in form  # the other case is picked, see below
    assert client.get(f"/cases/{case.id}/merge").status_code == 403
    auth.logout()
    auth.login(cast.member_a)
    assert client.post(f"/cases/{case.id}/links", data={"target_id": str(other.id), "type": "contradicts"}).status_code == 403
    auth.logout()
    auth.login(cast.manager_a)
    assert "Merge this duplicate" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/cases/{case.id}/merge", data={"kept_id": ""}).status_code == 422
    done = client.post(f"/cases/{case.id}/merge", data={"kept_id": str(other.id), "reason": "Twice"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{other.id}")
    page = client.get(f"/cases/{other.id}").get_data(as_text=True)
    assert "Moderation record" in page and "merged" in page


def test_remove_link_page_goes_back_to_a_linked_case(app, cast, make_case, client, auth):
    case, other = make_case(cast.author), make_case(cast.author, title="Other pilot")
    with app.test_request_context():
        link = services.create_link(reload(cast.curator_a), reload(case), {"target_id": other.id, "type": "related"})
        link_id = link.id
    auth.login(cast.curator_a)
    response = client.post(f"/links/{link_id}/delete", data={"case_id": "junk"})
    assert response.status_code == 302 and f"/cases/{case.id}" in response.headers["Location"]
    with app.app_context():
        assert db.session.query(CaseLink).count() == 0


def test_merge_page_picks_the_case_to_keep_from_suggestions_or_a_search(app, cast, make_case, client, auth):
    """No number to type: the likely duplicates and the search results are choices; the checks are the service's."""
    kept = make_case(cast.author, title="Solar kiosks for villages in Kazakhstan", sector="energy",
                     summary="Solar kiosks were sold to villages, but nobody paid for the electricity.")
    far = make_case(cast.author, title="Tea house franchise in Bishkek", sector="tourism",
                    summary="A tea house franchise opened three shops; rents rose and the shops closed.")
    not_ours = make_case(cast.curator_b, title="Solar kiosks in Kazakh villages, park B", sector="energy",
                         summary="Solar kiosks sold to villages; nobody paid for the electricity.")
    copy = make_case(cast.author, title="Village solar kiosks in Kazakhstan", sector="energy",
                     summary="We sold solar kiosks to Kazakh villages, and nobody paid for the electricity.")
    for n in range(5):  # enough likely duplicates that the far case is only found by searching
        make_case(cast.author, title=f"Solar kiosks for Kazakh villages, try {n}", sector="energy",
                  summary="Solar kiosks were sold to Kazakh villages, and nobody paid for the electricity.")
    auth.login(cast.manager_a)
    page = client.get(f"/cases/{copy.id}/merge").get_data(as_text=True)
    assert 'type="radio" id="kept-%d" name="kept_id" value="%d"' % (kept.id, kept.id) in page
    assert 'name="kept_id" inputmode' not in page and f'id="kept-{copy.id}"' not in page
    assert f'id="kept-{not_ours.id}"' not in page  # one the manager may not edit is never offered
    assert f'id="kept-{far.id}"' not in page
    found = client.get(f"/cases/{copy.id}/merge?q=tea+house").get_data(as_text=True)
    assert 'value="tea house"' in found and found.count(f'id="kept-{far.id}"') == 1
    assert f'id="kept-{far.id}"' in found.split('id="merge-found"')[1]
    assert "No case you may edit matches" in client.get(f"/cases/{copy.id}/merge?q=zzzqqq").get_data(as_text=True)
    assert client.get(f"/cases/{copy.id}/merge?q=" + "(" * 50).status_code == 200  # a bad query is said, not a 500
    chosen = client.get(f"/cases/{copy.id}/merge?kept_id={far.id}").get_data(as_text=True)
    assert f'id="kept-{far.id}" name="kept_id" value="{far.id}" checked' in chosen
    missing = client.post(f"/cases/{copy.id}/merge", data={"reason": "Twice"})
    assert missing.status_code == 422 and "Choose the case to keep." in missing.get_data(as_text=True)
    chinese = client.post(f"/cases/{copy.id}/merge", data={}, headers={"Accept-Language": "zh-CN"})
    assert "请选择要保留的案例。" in chinese.get_data(as_text=True)
    refused = client.post(f"/cases/{copy.id}/merge", data={"kept_id": str(not_ours.id)})
    assert refused.status_code == 403  # the service's rule, unchanged
    done = client.post(f"/cases/{copy.id}/merge", data={"kept_id": str(kept.id)})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{kept.id}")


def test_link_form_picks_the_other_case_from_similar_cases_or_a_search(app, cast, make_case, client, auth):
    """No number to type: similar cases and search results are radio choices, never the case itself, a case the
    user may not open, or (among the suggestions) one already linked; the rules stay the service's."""
    case = make_case(cast.author, title="Solar kiosks for villages in Kazakhstan", sector="energy",
                     summary="Solar kiosks were sold to villages, but nobody paid for the electricity.")
    similar = make_case(cast.author, title="Village solar kiosks in Kazakhstan", sector="energy",
                        summary="We sold solar kiosks to Kazakh villages, and nobody paid for the electricity.")
    linked = make_case(cast.author, title="Solar kiosks in Kazakh villages, second try", sector="energy",
                       summary="Solar kiosks sold to Kazakh villages again; nobody paid for the electricity.")
    hidden = make_case(cast.curator_b, title="Solar kiosks in Kazakh villages, park B", sector="energy",
                       summary="Solar kiosks sold to villages; nobody paid for the electricity.", visibility="private")
    far = make_case(cast.author, title="Tea house franchise in Bishkek", sector="tourism",
                    summary="A tea house franchise opened three shops; rents rose and the shops closed.")
    for n in range(5):  # enough similar cases that the far case is only found by searching
        make_case(cast.author, title=f"Solar kiosks for Kazakh villages, try {n}", sector="energy",
                  summary="Solar kiosks were sold to Kazakh villages, and nobody paid for the electricity.")
    auth.login(cast.curator_a)
    assert client.post(f"/cases/{case.id}/links", data={"target_id": str(linked.id), "type": "related"}).status_code == 302
    page = client.get(f"/cases/{case.id}/links").get_data(as_text=True)
    suggested = page.split('id="link-suggested"')[1].split("</ul>")[0]
    assert f'type="radio" id="target-{similar.id}" name="target_id" value="{similar.id}"' in suggested
    assert f'id="target-{linked.id}"' not in suggested
    for never in (case, hidden):
        assert f'id="target-{never.id}"' not in page
    assert f'id="target-{far.id}"' not in page
    assert 'name="type"' in page and 'name="target_id" inputmode' not in page
    assert 'data-live-search="link-results"' in page and 'id="link-results"' in page
    found = client.get(f"/cases/{case.id}/links?q=tea+house").get_data(as_text=True)
    assert 'value="tea house"' in found and f'id="target-{far.id}"' in found.split('id="link-found"')[1]
    searched = client.get(f"/cases/{case.id}/links?q=solar+kiosks").get_data(as_text=True)
    for never in (case, hidden):
        assert f'id="target-{never.id}"' not in searched
    assert "No case you may open matches" in client.get(f"/cases/{case.id}/links?q=zzzqqq").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/links?q=" + "(" * 50).status_code == 200  # said, not a 500
    chosen = client.get(f"/cases/{case.id}/links?target_id={far.id}").get_data(as_text=True)
    assert f'id="target-{far.id}" name="target_id" value="{far.id}" checked' in chosen
    for bad in (hidden.id, case.id, 999999, "junk"):  # never pre-chosen when it may not be offered
        assert f'value="{bad}" checked' not in client.get(f"/cases/{case.id}/links?target_id={bad}").get_data(as_text=True)
    missing = client.post(f"/cases/{case.id}/links", data={"type": "related"})
    assert missing.status_code == 422 and "Choose the case to link to." in missing.get_data(as_text=True)
    chinese = client.post(f"/cases/{case.id}/links", data={"type": "related"}, headers={"Accept-Language": "zh-CN"})
    assert "请选择要关联的案例。" in chinese.get_data(as_text=True) and "相似案例" in chinese.get_data(as_text=True)
    refused = client.post(f"/cases/{case.id}/links", data={"target_id": str(hidden.id), "type": "related"})
    assert refused.status_code == 422 and "No such case." in refused.get_data(as_text=True)
    kept_choice = client.post(f"/cases/{case.id}/links", data={"target_id": str(far.id), "type": "friends"})
    assert kept_choice.status_code == 422  # the choice stays chosen next to the message
    assert f'id="target-{far.id}" name="target_id" value="{far.id}" checked' in kept_choice.get_data(as_text=True)
    done = client.post(f"/cases/{case.id}/links", data={"target_id": str(similar.id), "type": "duplicate_of"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/cases/{case.id}#links-heading")
    auth.logout()
    auth.login(cast.member_a)
    assert client.get(f"/cases/{case.id}/links").status_code == 403


def test_link_candidates_are_other_cases_the_actor_may_open_and_not_merged_away(app, cast, make_case):
    case = make_case(cast.author, title="Solar kiosks, first try")
    other = make_case(cast.author, title="Solar kiosks, second try")
    merged = make_case(cast.author, title="Solar kiosks, second try (copy)")
    hidden = make_case(cast.curator_b, title="Park B private pilot", visibility="private")
    with app.test_request_context():
        services.merge_case(reload(cast.manager_a), reload(merged), {"kept_id": other.id})
        offered = services.link_candidates(reload(cast.curator_a), reload(case),
                                           [reload(c) for c in (case, other, other, merged, hidden)])
        assert [c.id for c in offered] == [other.id]
