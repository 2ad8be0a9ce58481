"""Second attempts: outcome history, the one-step post-mortem, and the dashboard's rates with their n.

Rates are checked on a hand-counted set of initiatives (see test_rates_compare_second_and_first_attempts).
"""
from datetime import date

import pytest

from helpers import in_app, reload
from zhigu.attempts.models import SecondAttempt
from zhigu.attempts.services import compare_attempts
from zhigu.extensions import db
from zhigu.initiatives.models import Initiative, Suggestion
from zhigu.links.models import CaseLink

DESCRIPTION = "Rooftop solar leasing for textile factories in Tashkent, with local installers."


@pytest.fixture
def make_initiative(app, api_as):
    def make_initiative(founder, **overrides):
        body = {"title": "Solar leasing, second try", "description": DESCRIPTION, "sector": "energy",
                "target_markets": ["UZ"], **overrides}
        response = api_as(founder).post("/api/v1/initiatives", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]
    return make_initiative


@pytest.fixture
def earlier(cast, make_case):
    return make_case(cast.author, title="Rooftop solar leases in Tashkent", sector="energy", target_markets=["UZ"],
                     summary="Solar panels leased to factories in Tashkent; net metering was refused.")


def patch(api, initiative_id, **body):
    return api.patch(f"/api/v1/initiatives/{initiative_id}", json=body)


# -- outcome history --------------------------------------------------------------------------------------

def test_outcomes_are_kept_as_a_dated_history(api_as, cast, make_initiative):
    api = api_as(cast.curator_a)
    initiative = make_initiative(cast.curator_a)

    assert patch(api, initiative, outcome="planned", outcome_on="2024-01-02").status_code == 200
    response = patch(api, initiative, outcome="launched", outcome_on="2024-03-01", note="First shipment")

    data = response.get_json()
    assert response.status_code == 200
    assert (data["outcome"], data["outcome_on"]) == ("launched", "2024-03-01")
    assert [(s["outcome"], s["outcome_on"], s["note"]) for s in data["outcomes"]] == [
        ("planned", "2024-01-02", ""), ("launched", "2024-03-01", "First shipment")]
    assert api.get(f"/api/v1/initiatives/{initiative}").get_json()["outcome"] == "launched"


@pytest.mark.parametrize("body, field", [
    ({"outcome": "exploded"}, "outcome"),
    ({"outcome": "launched", "outcome_on": "yesterday"}, "outcome_on"),
    ({"outcome": "launched", "outcome_on": "2999-01-01"}, "outcome_on"),
    ({}, "outcome"),
    ({"second_attempt_of": [999999]}, "second_attempt_of"),
])
def test_outcome_field_errors(api_as, cast, make_initiative, body, field):
    response = patch(api_as(cast.curator_a), make_initiative(cast.curator_a), **body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_outcome_cannot_go_back_in_time_or_change_after_the_end(api_as, cast, make_initiative):
    api = api_as(cast.curator_a)
    initiative = make_initiative(cast.curator_a)
    patch(api, initiative, outcome="launched", outcome_on="2024-03-01")

    assert "outcome_on" in patch(api, initiative, outcome="failed", outcome_on="2024-02-01").get_json()["errors"]
    assert patch(api, initiative, outcome="failed", outcome_on="2024-04-01").status_code == 200
    assert "outcome" in patch(api, initiative, outcome="launched", outcome_on="2024-05-01").get_json()["errors"]


def test_only_the_founder_and_admins_change_an_initiative(api_as, cast, make_initiative):
    initiative = make_initiative(cast.curator_a)

    assert patch(api_as(None), initiative, outcome="launched").status_code == 404  # hidden looks missing
    assert patch(api_as(cast.manager_a), initiative, outcome="launched").status_code == 404  # not theirs to see
    assert patch(api_as(cast.admin), initiative, outcome="launched").status_code == 200


def test_second_attempt_of_names_only_published_cases_the_founder_may_open(api_as, cast, make_case,
                                                                           make_initiative, earlier):
    hidden = make_case(cast.curator_b, visibility="private")
    api = api_as(cast.curator_a)
    initiative = make_initiative(cast.curator_a)

    assert patch(api, initiative, second_attempt_of=[hidden.id]).status_code == 422
    response = patch(api, initiative, second_attempt_of=[earlier.id])
    assert response.status_code == 200
    assert response.get_json()["second_attempt_of"] == [earlier.id]
    assert patch(api, initiative, second_attempt_of=[]).get_json()["second_attempt_of"] == []


# -- post-mortem ------------------------------------------------------------------------------------------

def test_failed_initiative_becomes_a_prefilled_linked_draft_in_one_step(app, api_as, cast, make_initiative, earlier):
    api = api_as(cast.curator_a)
    initiative = make_initiative(cast.curator_a, planned_start="2023-12-01")
    patch(api, initiative, outcome="launched", outcome_on="2024-01-10", second_attempt_of=[earlier.id])
    patch(api, initiative, outcome="failed", outcome_on="2024-06-10")

    response = api.post(f"/api/v1/initiatives/{initiative}/post-mortem", json={"lessons": "Ask the grid first."})

    case = response.get_json()
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    assert (case["status"], case["visibility"]) == ("draft", "private")
    assert (case["title"], case["summary"], case["sector"], case["target_markets"]) == (
        "Solar leasing, second try", DESCRIPTION, "energy", ["UZ"])
    assert (case["started_on"], case["ended_on"], case["stage_reached"]) == ("2024-01-10", "2024-06-10", "launched")
    assert case["lessons"] == "Ask the grid first."
    assert case["second_attempt_of"] == [earlier.id]
    assert api.get(f"/api/v1/initiatives/{initiative}").get_json()["post_mortem"] == case["id"]
    with in_app(app):
        link = db.session.query(CaseLink).one()  # issue 4's typed link, read "post-mortem <type> earlier"
        assert (link.source_id, link.type, link.target_id) == (case["id"], "second_attempt_of", earlier.id)

    again = api.post(f"/api/v1/initiatives/{initiative}/post-mortem", json={})
    assert again.status_code == 409


def test_post_mortem_needs_a_failed_initiative_and_a_filer(api_as, cast, make_initiative):
    member_initiative = make_initiative(cast.member_a)
    patch(api_as(cast.member_a), member_initiative, outcome="failed", outcome_on="2024-01-01")
    assert api_as(cast.member_a).post(f"/api/v1/initiatives/{member_initiative}/post-mortem",
                                      json={}).status_code == 403  # members file no cases

    initiative = make_initiative(cast.curator_a)
    api = api_as(cast.curator_a)
    assert api.post(f"/api/v1/initiatives/{initiative}/post-mortem", json={}).status_code == 409
    patch(api, initiative, outcome="succeeded", outcome_on="2024-01-01")
    assert api.post(f"/api/v1/initiatives/{initiative}/post-mortem", json={}).status_code == 409
    assert api_as(None).post(f"/api/v1/initiatives/{initiative}/post-mortem", json={}).status_code == 404


def test_post_mortem_field_errors(api_as, cast, make_initiative):
    api = api_as(cast.curator_a)
    initiative = make_initiative(cast.curator_a)
    patch(api, initiative, outcome="abandoned", outcome_on="2024-01-01")

    response = api.post(f"/api/v1/initiatives/{initiative}/post-mortem", json={"title": "x", "sector": "moon"})
    assert response.status_code == 422
    assert {"title", "sector"} <= set(response.get_json()["errors"])


def test_pages_record_an_outcome_and_turn_it_into_a_post_mortem(client, auth, cast, make_initiative, earlier):
    initiative = make_initiative(cast.curator_a)
    auth.login(cast.curator_a)
    page = client.get(f"/initiatives/{initiative}").get_data(as_text=True)
    assert 'id="outcome"' in page and "Turn it into a post-mortem" not in page

    bad = client.post(f"/initiatives/{initiative}/outcome", data={"outcome": "failed", "outcome_on": "2999-01-01"})
    assert bad.status_code == 422 and "cannot be in the future" in bad.get_data(as_text=True)
    client.post(f"/initiatives/{initiative}/outcome", data={"second_attempt_of": ["", str(earlier.id)]})
    client.post(f"/initiatives/{initiative}/outcome", data={"outcome": "failed", "outcome_on": "2024-05-01"})
    page = client.get(f"/initiatives/{initiative}").get_data(as_text=True)
    assert "Turn it into a post-mortem" in page and "A second attempt of" in page

    response = client.post(f"/initiatives/{initiative}/post-mortem")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    case_page = client.get(response.headers["Location"].replace("/edit", "")).get_data(as_text=True)
    assert "is a second attempt of" in case_page and "Rooftop solar leases in Tashkent" in case_page


# -- rates ------------------------------------------------------------------------------------------------

def _initiative(founder, outcomes, second_of=None, relevant=None):
    initiative = Initiative(title="Initiative", description=DESCRIPTION, founder_id=founder.id)
    db.session.add(initiative)
    db.session.flush()
    from zhigu.attempts.models import InitiativeOutcome
    for outcome, on in outcomes:
        db.session.add(InitiativeOutcome(initiative_id=initiative.id, outcome=outcome, outcome_on=on))
    if second_of:
        db.session.add(SecondAttempt(initiative_id=initiative.id, earlier_case_id=second_of))
    if relevant:
        db.session.add(Suggestion(initiative_id=initiative.id, case_id=relevant, verdict="relevant", rank=1))
    db.session.commit()
    return initiative


def test_rates_compare_second_and_first_attempts(ctx, cast, make_case):
    """Ended in 2024, park A founders:
    i1 second, consulted, launched 01-01 succeeded 03-01 (60 days)
    i2 second,             launched 01-01 failed 01-31 (30 days)
    i3 first,  consulted,  registered today, succeeded 2024-05-01 (no launch: days from registration < 0 -> no days)
    i4 first,              launched 02-01 abandoned 02-11 (10 days)
    i5 first,              still launched (not ended: not counted)
    i6 first,              failed 2023-05-01 (outside the window)
    i7 park B founder, second, succeeded 2024-02-01: counted by admins, not by A's manager
    """
    case = make_case(cast.author)
    founder_a, founder_b = reload(cast.member_a), reload(cast.member_b)
    _initiative(founder_a, [("launched", date(2024, 1, 1)), ("succeeded", date(2024, 3, 1))], case.id, case.id)
    _initiative(founder_a, [("launched", date(2024, 1, 1)), ("failed", date(2024, 1, 31))], case.id)
    _initiative(founder_a, [("succeeded", date(2024, 5, 1))], relevant=case.id)
    _initiative(founder_a, [("launched", date(2024, 2, 1)), ("abandoned", date(2024, 2, 11))])
    _initiative(founder_a, [("launched", date(2024, 2, 1))])
    _initiative(founder_a, [("failed", date(2023, 5, 1))])
    _initiative(founder_b, [("succeeded", date(2024, 2, 1))], case.id)
    window = (date(2024, 1, 1), date(2024, 12, 31))

    rates = compare_attempts(reload(cast.manager_a), *window)
    assert (rates["second"].n, rates["second"].succeeded, rates["second"].rate) == (2, 1, 0.5)
    assert (rates["second"].median_days, rates["second"].days_n) == (45, 2)
    assert (rates["first"].n, rates["first"].succeeded, rates["first"].rate) == (2, 1, 0.5)
    assert (rates["first"].median_days, rates["first"].days_n) == (10, 1)
    assert (rates["consulted"].n, rates["consulted"].succeeded, rates["consulted"].rate) == (2, 2, 1.0)
    assert (rates["not_consulted"].n, rates["not_consulted"].succeeded, rates["not_consulted"].rate) == (2, 0, 0.0)

    admin = compare_attempts(reload(cast.admin), *window)
    assert (admin["second"].n, admin["second"].succeeded) == (3, 2)
    assert compare_attempts(reload(cast.admin), *window, park_id=cast.park_b.id)["second"].n == 1
    assert compare_attempts(reload(cast.admin), *window, region="Zhejiang")["second"].n == 3  # both parks in Hangzhou
    # a member counts only their own initiatives; a manager of B none of A's
    assert compare_attempts(reload(cast.member_b), *window)["second"].n == 1
    assert compare_attempts(reload(cast.manager_b), *window)["first"].n == 0
    assert compare_attempts(reload(cast.curator_a), *window)["first"].rate is None


def test_dashboard_shows_each_rate_with_its_n(client, auth, api_as, cast, make_initiative, earlier):
    initiative = make_initiative(cast.curator_a)
    api = api_as(cast.curator_a)
    patch(api, initiative, outcome="launched", outcome_on="2024-01-10", second_attempt_of=[earlier.id])
    patch(api, initiative, outcome="failed", outcome_on="2024-06-10")

    data = api_as(cast.admin).get("/api/v1/trends?from=2024-01-01&to=2024-12-31").get_json()["attempts"]
    assert data["second"] == {"n": 1, "succeeded": 0, "rate": 0.0, "median_days": 152, "days_n": 1}
    assert data["first"]["n"] == 0 and data["first"]["rate"] is None

    auth.login(cast.admin)
    html = client.get("/trends?from=2024-01-01&to=2024-12-31").get_data(as_text=True)
    assert "0% succeeded" in html and "(0 of n = 1)" in html and "no initiative ended (n = 0)" in html
    assert 'id="table-attempts"' in html


def test_outcome_panel_is_one_form_with_one_save(client, auth, cast, make_initiative, earlier):
    initiative = make_initiative(cast.curator_a)
    auth.login(cast.curator_a)
    page = client.get(f"/initiatives/{initiative}").get_data(as_text=True)
    panel = page.split('id="outcome"')[1].split("</section>")[0]
    assert panel.count("<form") == 1 and panel.count('type="submit"') == 1
    assert '<textarea id="f-outcome-note"' in panel and '<option value="">Choose an outcome</option>' in panel
    assert f'id="attempt-{earlier.id}"' in panel and 'class="check-list"' in panel
    # outcome and re-attempted failures in one post
    done = client.post(f"/initiatives/{initiative}/outcome",
                       data={"outcome": "launched", "note": "Open", "second_attempt_of": ["", str(earlier.id)]})
    assert done.status_code == 302
    page = client.get(f"/initiatives/{initiative}").get_data(as_text=True)
    assert "A second attempt of" in page and f'id="attempt-{earlier.id}" name="second_attempt_of" value="{earlier.id}" checked' in page
    assert '<option value="">No change</option>' in page
    # links only, outcome unchanged: one step in the history still
    client.post(f"/initiatives/{initiative}/outcome", data={"outcome": "", "second_attempt_of": [""]})
    page = client.get(f"/initiatives/{initiative}").get_data(as_text=True)
    assert page.count('class="outcome outcome--launched"') == 1 and "A second attempt of" not in page
    # nothing at all: said next to the outcome, in the page's language
    bare = make_initiative(cast.curator_a, description="Hand-made paper lanterns sold to tourists at the Great Wall.",
                           sector="tourism", target_markets=["CN"], title="Lantern stall")
    empty = client.post(f"/initiatives/{bare}/outcome", data={"outcome": ""})
    if 'name="second_attempt_of"' not in empty.get_data(as_text=True):
        assert empty.status_code == 422 and 'id="f-outcome-errors"><li>Choose an outcome.' in empty.get_data(as_text=True)
    chinese = client.post(f"/initiatives/{initiative}/outcome", data={"outcome": "failed", "outcome_on": "2999-01-01"},
                          headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 422 and 'id="f-outcome_on-errors"' in chinese.get_data(as_text=True)
    assert "cannot be in the future" not in chinese.get_data(as_text=True)
