"""Search statistics never reveal words of hidden cases: "find similar" scores, search scores and "did you mean"
are the same whatever hidden cases hold (zhigu.search.statistics, suggest_spelling)."""
import pytest

from helpers import in_app, reload
from zhigu.archive import services as archive_services
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.search.services import search_cases

PUBLIC = [
    dict(title="Solar kettles for rural clinics", summary="Solar kettles boiled water for clinics until the grid came.",
         narrative="The kettles were cheap but the clinics preferred grid power.", lessons="Check the grid plans."),
    dict(title="Solar pumps for irrigation", summary="Farmers rented solar pumps; the rental model failed.",
         narrative="Pumps broke in the dust season and spare parts took months.", lessons="Stock spare parts."),
    dict(title="Kettle sensors in tea houses", summary="Sensors counted kettles boiled in tea houses for insurers.",
         narrative="The insurers never bought the data.", lessons="Find the buyer before the sensor."),
]
HIDDEN_WORD = "zorblax"
HIDDEN = dict(title=f"Zorblax {HIDDEN_WORD} solar kettles", visibility="private",
              summary=f"A confidential {HIDDEN_WORD} pilot of solar kettles and {HIDDEN_WORD} clinics.",
              narrative=f"The {HIDDEN_WORD} partner left.", lessons=f"Never trust {HIDDEN_WORD} again.")
DESCRIPTION = {"title": "Solar kettles", "description": f"Solar {HIDDEN_WORD} kettles for clinics and irrigation pumps."}


def _public_archive(cast, make_case):
    return [make_case(cast.author, **fields) for fields in PUBLIC]


def _similar_scores(api_as, body=DESCRIPTION):
    client = api_as(None) if callable(api_as) else api_as
    response = client.post("/api/v1/similar", json=body)
    assert response.status_code == 200
    return [(hit["id"], hit["score"]) for hit in response.get_json()["results"]]


def _search_scores(api_as, q):
    response = api_as(None).get("/api/v1/cases", query_string={"q": q})
    assert response.status_code == 200
    return [(hit["id"], hit["score"]) for hit in response.get_json()["results"]]


def test_a_visitors_similar_scores_do_not_change_with_a_hidden_case(api_as, cast, make_case):
    _public_archive(cast, make_case)
    before = _similar_scores(api_as)
    before_plain = _similar_scores(api_as, {"description": "solar kettles for clinics"})

    make_case(cast.author, **HIDDEN)
    make_case(cast.curator_b, **dict(HIDDEN, visibility="park"))

    assert before and _similar_scores(api_as) == before
    assert _similar_scores(api_as, {"description": "solar kettles for clinics"}) == before_plain


def test_a_visitors_search_scores_do_not_change_with_a_hidden_case(api_as, cast, make_case):
    _public_archive(cast, make_case)
    before = {q: _search_scores(api_as, q) for q in ("solar", "kettles OR zorblax", "solar OR clinics")}

    make_case(cast.author, **HIDDEN)

    assert all(before.values())
    assert {q: _search_scores(api_as, q) for q in before} == before


def test_the_hidden_cases_viewers_still_find_and_rank_them(api_as, cast, make_case):
    _public_archive(cast, make_case)
    hidden = make_case(cast.author, **HIDDEN)

    response = api_as(cast.author).post("/api/v1/similar", json=DESCRIPTION)
    assert hidden.id in [hit["id"] for hit in response.get_json()["results"]]
    found = api_as(cast.author).get("/api/v1/cases", query_string={"q": HIDDEN_WORD}).get_json()
    assert [hit["id"] for hit in found["results"]] == [hidden.id]


@pytest.mark.parametrize("where", ["api", "service"])
def test_did_you_mean_is_silent_for_a_word_only_hidden_cases_contain(app, api_as, cast, make_case, where):
    _public_archive(cast, make_case)
    make_case(cast.author, title="Zorblay sensors", summary="A zorblay pilot in zorblay clinics.")
    make_case(cast.author, **HIDDEN)

    def did_you_mean(q):
        if where == "api":
            return api_as(None).get("/api/v1/cases", query_string={"q": q}).get_json()["did_you_mean"]
        with in_app(app):
            return search_cases(None, q).did_you_mean

    # a public word is known; a hidden one is corrected like any unknown word, never to another hidden word
    assert did_you_mean("zorblay") is None
    assert did_you_mean("zorblax") == "zorblay"
    assert did_you_mean("zorblaz") == "zorblay"
    assert did_you_mean("zorblaxq") == "zorblay"  # the hidden word is closer, and never suggested
    # its viewers are told nothing new about it either way
    member = api_as(cast.author).get("/api/v1/cases", query_string={"q": HIDDEN_WORD}).get_json()
    assert member["did_you_mean"] is None and member["total"] == 1


def test_did_you_mean_ignores_hidden_candidates_that_would_crowd_out_visible_ones(api_as, cast, make_case):
    make_case(cast.author, title="Marketing plan", summary="A plan with marketing budget.")
    # three hidden words closer to the typo than the visible one
    make_case(cast.author, visibility="private", title="Markeding markating",
              summary="Markeding markating marketting plans.")

    body = api_as(None).get("/api/v1/cases", query_string={"q": "markating"}).get_json()
    assert body["did_you_mean"] == "marketing"

    with_token = api_as(cast.author).get("/api/v1/cases", query_string={"q": "markating"}).get_json()
    assert with_token["did_you_mean"] is None  # the author's own case holds the word


def test_did_you_mean_forgets_a_word_an_edit_took_out_of_the_archive(app, api_as, cast, make_case):
    """The edited case's old document stays in its segment, deleted, until a merge: its words are not known."""
    make_case(cast.author, title="Zorblax pumps", summary="Zorblax pumps for village wells.")
    edited = make_case(cast.author, title="Zorblay sensors", summary="A zorblay pilot.")

    def did_you_mean(q):
        return api_as(None).get("/api/v1/cases", query_string={"q": q}).get_json()["did_you_mean"]

    assert did_you_mean("zorblay") is None  # known
    with in_app(app):
        archive_services.update_case(reload(cast.author), reload(edited), {"title": "Soil sensors", "summary": "A pilot of soil sensors."})
    assert did_you_mean("zorblay") == "zorblax"


def test_a_members_scores_move_only_with_what_they_may_open(api_as, cast, make_case):
    """Statistics are those of what the viewer may open: another park's private case changes nothing for
    member B, while a park case member A may open counts for them."""
    _public_archive(cast, make_case)
    before = {who: (_similar_scores(api_as_user := api_as(getattr(cast, who))),
                    [(hit["id"], hit["score"]) for hit in api_as_user.get(
                        "/api/v1/cases", query_string={"q": "solar OR zorblax"}).get_json()["results"]])
              for who in ("member_a", "member_b")}

    make_case(cast.author, **dict(HIDDEN, visibility="park"))

    def now(who):
        client = api_as(getattr(cast, who))
        return (_similar_scores(client), [(hit["id"], hit["score"]) for hit in client.get(
            "/api/v1/cases", query_string={"q": "solar OR zorblax"}).get_json()["results"]])

    assert now("member_b") == before["member_b"]
    assert now("member_a") != before["member_a"]


def test_a_case_only_its_viewers_may_open_is_still_found_by_its_own_words(api_as, cast, make_case):
    """With no public case at all, "find similar" and search still rank the hidden cases for their viewers."""
    hidden = make_case(cast.author, **HIDDEN)

    results = api_as(cast.author).post("/api/v1/similar", json=DESCRIPTION).get_json()["results"]
    assert [hit["id"] for hit in results] == [hidden.id]
    assert _similar_scores(api_as) == []
