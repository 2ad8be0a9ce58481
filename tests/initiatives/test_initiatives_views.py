"""The initiative pages: the form with its live similar list, suggestions and the reader's verdicts."""
import pytest

from helpers import field, field_error_text, in_app, page, text
from zhigu.extensions import db
from zhigu.initiatives.models import Suggestion


def test_initiative_form_has_the_live_similar_list(auth, cast):
    tree = page(auth.login(cast.member_a).get("/initiatives/new"))

    panel = tree.select_one("aside.similar-live")
    assert panel.attrs["data-similar-url"] == "/api/v1/similar"
    assert tree.find(id=panel.attrs["data-similar-form"]).name == "form"
    assert panel.select_one("ol.similar-live__list").attrs.get("data-similar-list") is not None
    assert panel.select_one("p.similar-live__status").attrs["aria-live"] == "polite"
    markets = tree.select_one("select[name=target_markets]")
    assert markets.attrs["data-filter-label"] and markets.attrs["data-chosen-label"]
    form = tree.select_one("#initiative-form")
    assert {c["name"] for c in form.select("[name]")} >= {"title", "description", "sector", "target_markets",
                                                           "planned_start", "csrf_token"}


def test_initiative_form_errors_keep_values(auth, cast):
    response = auth.login(cast.member_a).post("/initiatives/new", data={
        "title": "Drones", "description": "short", "target_markets": ["KZ", "XX"], "planned_start": "soon"})

    assert response.status_code == 422
    tree = page(response)
    assert "10" in field_error_text(tree, "description")
    assert field_error_text(tree, "planned_start")
    assert "XX" in field_error_text(tree, "target_markets")
    assert field(tree, "title").select_one("input").attrs["value"] == "Drones"
    assert text(field(tree, "description").select_one("textarea")) == "short"
    assert "selected" in field(tree, "target_markets").select_one("option[value=KZ]").attrs


def test_initiative_lists_suggestions_and_records_verdicts(app, auth, cast, public_case):
    client = auth.login(cast.member_a)
    response = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan, paid by the month.",
        "sector": "energy", "target_markets": ["KZ"], "planned_start": "2027-03-01"})
    assert response.status_code == 302
    url = response.headers["Location"]

    tree = page(client.get(url))
    assert "Kazakhstan" in text(tree.select_one("ul.meta-list"))
    item = tree.select_one(f"#case-{public_case.id}")
    assert public_case.title in text(item)
    assert "same market (Kazakhstan)" in text(item.select_one("p.why"))
    form = item.select_one("form.verdict-form")
    assert form.attrs["action"] == f"{url}/feedback"
    assert form.select_one("input[name=case_id]").attrs["value"] == str(public_case.id)

    response = client.post(f"{url}/feedback", data={"case_id": public_case.id, "verdict": "relevant",
                                                    "note": "We rent, not sell, the kiosks."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#case-{public_case.id}")
    item = page(client.get(url)).select_one(f"#case-{public_case.id}")
    verdict = item.select_one("p.verdict")
    assert "relevant" in text(verdict) and "We rent, not sell, the kiosks." in text(verdict)
    assert "checked" in item.select_one("input[value=relevant]").attrs
    assert text(item.select_one("textarea[name=note]")) == "We rent, not sell, the kiosks."
    with in_app(app):
        suggestion = db.session.scalar(db.select(Suggestion).where(Suggestion.case_id == public_case.id))
        assert suggestion.verdict == "relevant"


def test_verdict_without_a_choice_is_refused_next_to_its_form(auth, cast, public_case):
    client = auth.login(cast.member_a)
    url = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan."}).headers["Location"]

    response = client.post(f"{url}/feedback", data={"case_id": public_case.id, "note": "Kept note"})

    assert response.status_code == 422
    item = page(response).select_one(f"#case-{public_case.id}")
    assert text(item.select_one("ul.field-errors"))
    assert text(item.select_one("textarea[name=note]")) == "Kept note"


def test_my_initiatives_lists_only_mine(auth, cast, public_case):
    auth.login(cast.member_b).post("/initiatives/new", data={"title": "Someone else's plan",
                                                             "description": "Another founder's cold chain plan."})
    client = auth.login(cast.member_a)
    client.post("/initiatives/new", data={"title": "My cold chain plan",
                                          "description": "Cold-chain warehouses for fruit exports."})

    listed = text(page(client.get("/my/initiatives")).select_one("ul.initiative-list"))

    assert "My cold chain plan" in listed and "Someone else's plan" not in listed


def test_initiatives_can_be_registered_before_any_case_is_published(auth, cast):
    client = auth.login(cast.member_a)
    for n in range(2):
        response = client.post("/initiatives/new", data={"title": f"Plan {n}",
                                                         "description": "Cold-chain warehouses for fruit."})
        assert response.status_code == 302


def test_visitors_find_similar_public_failures_without_an_account(client, cast, public_case, make_case):
    hidden = make_case(cast.author, visibility="park", title="Solar kiosks for Kazakh villages, park only",
                       summary="We sold solar kiosks to villages in Kazakhstan; park members only.")
    tree = page(client.get("/similar"))
    assert tree.select_one("#similar-form").attrs["action"] == "/similar"
    assert tree.select_one("aside.similar-live").attrs["data-similar-form"] == "similar-form"
    prompt = tree.select_one("#register-prompt")
    assert prompt.select_one("a[href='/signup']") and prompt.select_one("a[href^='/login?next=']")
    assert tree.select_one("button[formaction]") is None  # registering is for members

    response = client.post("/similar", data={"description": "Solar kiosks for villages in Kazakhstan, paid monthly.",
                                             "target_markets": ["KZ"]})
    assert response.status_code == 200
    links = [a.attrs["href"] for a in page(response).select("[data-similar-list] li a")]
    assert f"/cases/{public_case.id}" in links and f"/cases/{hidden.id}" not in links


def test_find_similar_refuses_an_empty_description_next_to_the_field(client):
    response = client.post("/similar", data={"description": "  "})
    assert response.status_code == 422
    assert field_error_text(page(response), "description")


def test_members_can_register_from_find_similar(auth, cast):
    tree = page(auth.login(cast.member_a).get("/similar"))
    assert tree.select_one("button[formaction='/initiatives/new']") is not None
    assert tree.select_one("#register-prompt") is None


def test_home_call_to_action_needs_no_log_in(client, auth, cast):
    assert page(client.get("/")).select_one(".hero__actions a[href='/similar']") is not None
    tree = page(auth.login(cast.member_a).get("/"))
    assert tree.select_one(".hero__actions a[href='/initiatives/new']") is not None


def test_initiative_form_has_a_count_badge_that_opens_the_list(auth, cast):
    tree = page(auth.login(cast.member_a).get("/initiatives/new"))
    badge = tree.select_one("#initiative-form a.similar-badge[data-similar-badge]")
    assert badge.attrs["href"] == "#similar-live" and "hidden" in badge.attrs
    assert tree.select_one("aside#similar-live").attrs["data-msg-badge"].count("{n}") == 1


def test_verdict_forms_carry_what_the_script_needs_to_record_in_place(auth, cast, public_case):
    client = auth.login(cast.member_a)
    url = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan."}).headers["Location"]
    tree = page(client.get(url))
    section = tree.select_one("section.suggestions")
    assert section.attrs["data-msg-required"] == "Choose “Relevant” or “Not relevant”."
    form = tree.select_one(f"#case-{public_case.id} form.verdict-form")
    assert form.attrs["data-api-url"] == f"/api/v1{url}/feedback"
    assert form.select_one("[data-verdict-status][role=status]") is not None


@pytest.mark.parametrize("language, message", [("en", "Choose “Relevant” or “Not relevant”."),
                                               ("zh", "请选择“相关”或“不相关”。")])
def test_verdict_without_a_choice_says_so_in_words_of_the_page(auth, cast, public_case, language, message):
    client = auth.login(cast.member_a)
    url = client.post("/initiatives/new", data={
        "title": "Solar kiosks for Kazakh villages",
        "description": "We plan to sell solar kiosks to villages in Kazakhstan."}).headers["Location"]
    client.post("/language", data={"language": language})

    response = client.post(f"{url}/feedback", data={"case_id": public_case.id})

    assert response.status_code == 422
    item = page(response).select_one(f"#case-{public_case.id}")
    assert text(item.select_one("fieldset ul.field-errors")) == message
    assert "Missing data" not in response.get_data(as_text=True)
