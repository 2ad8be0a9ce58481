"""Review before publishing: services, API, pages, and who may do what."""
import pytest
from marshmallow import ValidationError

from helpers import case_data, in_app, reload
from zhigu.archive import services as archive_services
from zhigu.archive import transfer
from zhigu.archive.models import FailureCase
from zhigu.auth.permissions import can
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.notify.models import Notification
from zhigu.reviews import services
from zhigu.reviews.models import ReviewEvent

ROLES = ("author", "member_a", "curator_a", "manager_a", "member_b", "curator_b", "manager_b", "admin")


def submitted(app, cast, make_case, **overrides):
    draft = make_case(cast.author, status="draft", **overrides)
    with in_app(app):
        services.submit_case(reload(cast.author), reload(draft))
    return draft


# -- services -----------------------------------------------------------------------------------------

def test_curator_cannot_publish_directly_but_managers_and_admins_can(app, cast, make_case):
    with app.app_context():
        with pytest.raises(PermissionDenied):
            archive_services.create_case(reload(cast.author), case_data(), publish=True)
        draft = make_case(cast.author, status="draft")
        with pytest.raises(PermissionDenied):
            archive_services.publish_case(reload(cast.author), reload(draft))
        case = archive_services.publish_case(reload(cast.manager_a), reload(draft))
        assert case.status == "published"
        assert case.revisions[0].action == "publish" and case.revisions[0].editor.id == cast.manager_a.id
        own = archive_services.create_case(reload(cast.manager_a), case_data(), publish=True)
        assert own.status == "published"


def test_submit_then_approve_publishes_and_tells_the_author(app, cast, make_case):
    draft = submitted(app, cast, make_case)
    with app.app_context():
        case = reload(draft)
        assert case.status == "in_review"
        assert [n.user_id for n in db.session.query(Notification).filter_by(kind="review_submitted")] == [
            cast.manager_a.id]
        services.review_case(reload(cast.manager_a), case, {"decision": "approve"})
        assert case.status == "published" and case.published_at is not None
        assert [e.action for e in services.history(reload(cast.author), case)] == ["submitted", "approved"]
        assert db.session.query(Notification).filter_by(kind="review_decision", user_id=cast.author.id).count() == 1


def test_request_changes_goes_back_to_the_author_who_resubmits(app, cast, make_case):
    draft = submitted(app, cast, make_case)
    with app.app_context():
        case = reload(draft)
        services.review_case(reload(cast.admin), case, {"decision": "request_changes", "comment": "Add dates."})
        assert case.status == "changes_requested"
        archive_services.update_case(reload(cast.author), case, {"started_on": "2020-01-01"})
        assert case.revisions == []  # an unpublished case keeps no revisions
        services.submit_case(reload(cast.author), case)
        assert case.status == "in_review"
        services.review_case(reload(cast.manager_a), case, {"decision": "reject", "comment": "Out of scope."})
        assert case.status == "rejected"
        history = services.history(reload(cast.author), case)
        assert [(e.action, e.comment) for e in history] == [
            ("submitted", None), ("changes_requested", "Add dates."), ("submitted", None),
            ("rejected", "Out of scope.")]
        with pytest.raises(ZhiguError) as err:
            services.submit_case(reload(cast.author), case)
        assert err.value.status_code == 409


@pytest.mark.parametrize("decision", ["request_changes", "reject"])
def test_a_comment_is_needed_unless_approving(app, cast, make_case, decision):
    draft = submitted(app, cast, make_case)
    with app.app_context():
        with pytest.raises(ValidationError) as err:
            services.review_case(reload(cast.manager_a), reload(draft), {"decision": decision, "comment": "  "})
        assert "comment" in err.value.messages
        with pytest.raises(ValidationError) as err:
            services.review_case(reload(cast.manager_a), reload(draft), {"decision": "maybe"})
        assert "decision" in err.value.messages


def test_submitting_needs_a_cause(app, cast, make_case):
    draft = make_case(cast.author, status="draft", causes=[])
    with app.app_context():
        with pytest.raises(ValidationError):
            services.submit_case(reload(cast.author), reload(draft))


def test_who_may_review(app, cast, make_case):
    draft = submitted(app, cast, make_case)
    allowed = {"manager_a", "admin"}
    with app.app_context():
        for who in ROLES:
            actor = reload(getattr(cast, who))
            if who in allowed:
                continue
            with pytest.raises(PermissionDenied):
                services.review_case(actor, reload(draft), {"decision": "approve"})
            with pytest.raises(PermissionDenied):
                services.claim_case(actor, reload(draft))
        assert reload(draft).status == "in_review"


def test_a_manager_never_reviews_their_own_case(app, cast, make_case):
    draft = make_case(cast.manager_a, status="draft")
    with app.app_context():
        services.submit_case(reload(cast.manager_a), reload(draft))
        with pytest.raises(PermissionDenied):
            services.review_case(reload(cast.manager_a), reload(draft), {"decision": "approve"})


def test_only_the_author_submits(app, cast, make_case):
    draft = make_case(cast.author, status="draft")
    with app.app_context():
        for who in ("manager_a", "admin", "curator_a"):
            with pytest.raises(PermissionDenied):
                services.submit_case(reload(getattr(cast, who)), reload(draft))


def test_cases_in_review_stay_hidden_from_readers(app, cast, make_case, client, auth):
    draft = submitted(app, cast, make_case)
    auth.login(cast.member_a)
    assert client.get(f"/cases/{draft.id}").status_code == 404
    with app.app_context():
        assert not can(reload(cast.member_a), "case.view", reload(draft))


def test_queue_oldest_first_with_claims_and_filters(app, cast, make_case):
    first = submitted(app, cast, make_case, title="First pilot in Almaty")
    second = submitted(app, cast, make_case, title="Second pilot in Astana")
    other_park = make_case(cast.curator_b, status="draft")
    with app.app_context():
        services.submit_case(reload(cast.curator_b), reload(other_park))
        manager = reload(cast.manager_a)
        assert [i.case.id for i in services.review_queue(manager)] == [first.id, second.id]
        services.claim_case(manager, reload(second))
        assert [i.case.id for i in services.review_queue(manager, {"claimed": "me"})] == [second.id]
        assert [i.case.id for i in services.review_queue(manager, {"claimed": "unclaimed"})] == [first.id]
        assert [i.case.id for i in services.review_queue(manager, {"q": "astana"})] == [second.id]
        assert {i.case.id for i in services.review_queue(reload(cast.admin))} == {first.id, second.id, other_park.id}
        assert [i.case.id for i in services.review_queue(reload(cast.admin), {"park": "park-b"})] == [other_park.id]
        with pytest.raises(ValidationError):
            services.review_queue(manager, {"claimed": "nobody"})
        for who in ("member_a", "curator_a"):
            with pytest.raises(PermissionDenied):
                services.review_queue(reload(getattr(cast, who)))


def test_imports_are_recorded(app):
    with app.app_context():
        transfer.import_cases(['{"external_id": "x-1", "title": "Imported pilot", "summary": '
                                       '"A summary long enough to pass.", "causes": ["market.no_demand"]}'])
        case = db.session.query(FailureCase).filter_by(external_id="x-1").one()
        assert case.status == "published"
        assert [r.action for r in case.revisions] == ["import"]


# -- API ----------------------------------------------------------------------------------------------

def test_api_submit_review_and_queue(app, cast, make_case, api_as):
    draft = make_case(cast.author, status="draft")
    response = api_as(cast.author).post(f"/api/v1/cases/{draft.id}/submit")
    assert response.status_code == 200 and response.json["status"] == "in_review"
    assert api_as(cast.author).post(f"/api/v1/cases/{draft.id}/submit").status_code == 409
    queue = api_as(cast.manager_a).get("/api/v1/reviews")
    assert [r["case_id"] for r in queue.json["results"]] == [draft.id]
    assert api_as(cast.member_a).get("/api/v1/reviews").status_code == 403
    assert api_as(None).get("/api/v1/reviews").status_code == 401
    assert api_as(cast.manager_a).get("/api/v1/reviews?claimed=bogus").status_code == 422
    bad = api_as(cast.manager_a).post(f"/api/v1/cases/{draft.id}/review", json={"decision": "reject"})
    assert bad.status_code == 422 and "comment" in bad.json["errors"]
    assert api_as(cast.manager_a).post(f"/api/v1/cases/{draft.id}/review", data="x").status_code == 400
    assert api_as(cast.manager_b).post(f"/api/v1/cases/{draft.id}/review",
                                       json={"decision": "approve"}).status_code == 404  # can't see it
    assert api_as(cast.author).post(f"/api/v1/cases/{draft.id}/review",
                                    json={"decision": "approve"}).status_code == 403
    assert api_as(cast.manager_a).post(f"/api/v1/cases/{draft.id}/claim").status_code == 200
    done = api_as(cast.manager_a).post(f"/api/v1/cases/{draft.id}/review",
                                       json={"decision": "request_changes", "comment": "Name the city."})
    assert done.status_code == 200 and done.json["status"] == "changes_requested"
    trail = api_as(cast.author).get(f"/api/v1/cases/{draft.id}/reviews").json
    assert [e["action"] for e in trail] == ["submitted", "claimed", "changes_requested"]
    assert trail[-1]["comment"] == "Name the city."


def test_api_curator_publish_is_forbidden(app, cast, make_case, api_as):
    draft = make_case(cast.author, status="draft")
    assert api_as(cast.author).post(f"/api/v1/cases/{draft.id}/publish").status_code == 403
    assert api_as(cast.manager_a).post(f"/api/v1/cases/{draft.id}/publish").status_code == 200


# -- pages --------------------------------------------------------------------------------------------

def test_pages_submit_queue_and_decide(app, cast, make_case, client, auth):
    draft = make_case(cast.author, status="draft", title="Kiosk pilot in Shymkent")
    auth.login(cast.author)
    page = client.get(f"/cases/{draft.id}").get_data(as_text=True)
    assert "Submit for review" in page and 'value="publish"' not in client.get(
        f"/cases/{draft.id}/edit").get_data(as_text=True)
    assert client.post(f"/cases/{draft.id}/submit").status_code == 302
    assert client.get(f"/cases/{draft.id}/review").status_code == 403
    assert client.get("/reviews").status_code == 403
    auth.logout()

    auth.login(cast.manager_a)
    queue = client.get("/reviews").get_data(as_text=True)
    assert "Kiosk pilot in Shymkent" in queue and 'name="csrf_token"' in queue
    assert ">Reviews</a>" in client.get("/").get_data(as_text=True)
    client.post(f"/cases/{draft.id}/claim", data={"next": "https://evil.example/"})
    assert cast.manager_a.display_name in client.get("/reviews").get_data(as_text=True).split("<tbody>")[1]
    form = client.get(f"/cases/{draft.id}/review")
    assert form.status_code == 200 and '<label for="f-comment">' in form.get_data(as_text=True)
    bad = client.post(f"/cases/{draft.id}/review", data={"decision": "request_changes", "comment": ""})
    assert bad.status_code == 422 and "field-errors" in bad.get_data(as_text=True)
    ok = client.post(f"/cases/{draft.id}/review", data={"decision": "request_changes", "comment": "Add the year."})
    assert ok.status_code == 302
    auth.logout()

    auth.login(cast.author)
    page = client.get(f"/cases/{draft.id}").get_data(as_text=True)
    assert "Changes requested" in page and "Add the year." in page
    assert "Changes requested" in client.get("/my/cases").get_data(as_text=True)


def test_claim_redirect_stays_on_site(app, cast, make_case, client, auth):
    draft = submitted(app, cast, make_case)
    auth.login(cast.manager_a)
    response = client.post(f"/cases/{draft.id}/claim", data={"next": "//evil.example/"})
    assert response.headers["Location"].endswith(f"/cases/{draft.id}/review")
    with app.app_context():
        assert db.session.query(ReviewEvent).filter_by(action="claimed").count() == 1


def test_claiming_twice_records_one_claim_and_others_can_take_over(app, cast, make_case):
    draft = submitted(app, cast, make_case)
    with app.app_context():
        services.claim_case(reload(cast.manager_a), reload(draft))
        services.claim_case(reload(cast.manager_a), reload(draft))
        services.claim_case(reload(cast.admin), reload(draft))
        assert [e.action for e in services.history(reload(cast.author), reload(draft))] == [
            "submitted", "claimed", "claimed"]
        assert services.review_queue(reload(cast.admin))[0].claimed_by.id == cast.admin.id


def test_a_draft_offers_submit_for_review_at_the_top_of_its_page(app, client, auth, cast, make_case):
    from helpers import page

    draft = make_case(cast.author, status="draft")
    published = make_case(cast.manager_a)
    auth.login(cast.author)

    header = page(client.get(f"/cases/{draft.id}")).select_one("header.case__header")
    other = page(client.get(f"/cases/{published.id}")).select_one("header.case__header")

    button = header.select_one(f'form[action="/cases/{draft.id}/submit"] button')
    assert button is not None and button.get_text(strip=True) == "Submit for review"
    assert len(page(client.get(f"/cases/{draft.id}")).select(f'form[action="/cases/{draft.id}/submit"]')) == 1
    assert other.select_one("form[action$='/submit']") is None
    assert client.post(f"/cases/{draft.id}/submit").status_code == 302
    with in_app(app):
        assert db.session.get(FailureCase, draft.id).status == "in_review"


def test_an_admin_picks_the_park_of_the_queue_by_name(app, client, auth, cast, make_case):
    from helpers import page

    submitted(app, cast, make_case, title="Park A kiosks")
    auth.login(cast.admin)

    queue = page(client.get("/reviews"))
    options = {option["value"]: option.get_text(strip=True) for option in queue.select("select[name=park] option")}
    chosen = page(client.get("/reviews", query_string={"park": "park-b"}))

    assert queue.select_one("input[name=park]") is None
    assert options[""] == "All parks" and "park-a" in options and options["park-a"] != "park-a"
    assert "Park A kiosks" in queue.get_text() and "Park A kiosks" not in chosen.get_text()
    assert chosen.select_one("select[name=park] option[selected]")["value"] == "park-b"


def test_review_page_shows_the_text_beside_its_likely_duplicates(app, cast, make_case, client, auth):
    kept = make_case(cast.manager_a, title="Solar kiosks for villages in Kazakhstan", sector="energy",
                     summary="Solar kiosks were sold to villages, but nobody paid for the electricity.")
    other_park = make_case(cast.manager_b, title="Solar kiosks for Kazakh villages, park B", sector="energy",
                           summary="Solar kiosks sold to villages in Kazakhstan; nobody paid for electricity.")
    copy = submitted(app, cast, make_case, title="Village solar kiosks in Kazakhstan", sector="energy",
                     summary="We sold solar kiosks to Kazakh villages, and nobody paid for the electricity.",
                     narrative="The **kiosks** stood idle after the first winter.")
    auth.login(cast.manager_a)
    page = client.get(f"/cases/{copy.id}/review").get_data(as_text=True)
    assert 'class="review-layout"' in page and 'id="duplicates"' in page
    text, duplicates = page.split('id="duplicates"', 1)
    assert "<strong>kiosks</strong> stood idle" in text  # the case's own text, rendered
    assert f'href="/cases/{kept.id}"' in duplicates and f'href="/cases/{other_park.id}"' in duplicates
    assert "likely duplicates" in page.split('class="review-layout"')[0]  # the count that jumps to them
    # merging is offered into the cases the manager may edit, with that case chosen
    assert f"/cases/{copy.id}/merge?kept_id={kept.id}" in duplicates
    assert f"kept_id={other_park.id}" not in duplicates
    chinese = client.get(f"/cases/{copy.id}/review", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "可能重复的案例" in chinese and "Likely duplicates" not in chinese
    bad = client.post(f"/cases/{copy.id}/review", data={"decision": "reject", "comment": ""})
    assert bad.status_code == 422 and f'href="/cases/{kept.id}"' in bad.get_data(as_text=True).split('id="duplicates"')[1]
