"""POST /api/v1/similar and similar cases of a case: OR of distinctive terms, visibility, why it matched."""
import re

import pytest

from helpers import in_app
from zhigu.archive.models import FailureCase
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.analysis import analyse
from zhigu.search.similar import WHY_MIN_CASES, SimilarQuery, _why, similar_cases, similar_to_case

PARAGRAPH = (
    "We plan to open a bonded cold-chain warehouse near the Khorgos border crossing so that Chinese exporters "
    "of fresh fruit can store produce before it is trucked to buyers in Almaty and Tashkent. The warehouse "
    "would be built with a local partner and rented out by the pallet, with customs clearance on site."
)


@pytest.fixture
def cases(cast, make_case):
    return {
        "cold_chain": make_case(cast.author, title="Cold-chain warehouse at a border park",
                                summary="A refrigerated warehouse for fruit exporters stood empty because "
                                        "exporters cleared customs elsewhere.",
                                sector="logistics", target_markets=["KZ"], causes=["market.no_demand"]),
        "textiles": make_case(cast.author, title="Textile sourcing platform for Dhaka mills",
                              summary="Buyers never trusted the platform's quality audits of garment mills.",
                              narrative="", lessons="", sector="textiles", target_markets=["BD"],
                              causes=["partners.brand_damage"]),
        "solar": make_case(cast.author, title="Rooftop solar leasing in Hanoi",
                           summary="Leases were cancelled when the feed-in tariff was cut.",
                           narrative="", lessons="", sector="energy", target_markets=["VN"],
                           causes=["policy.regulation"]),
    }


def similar(api, **body):
    return api.post("/api/v1/similar", json=body)


def test_a_paragraph_finds_cases_because_terms_are_ored(api_as, cases):
    response = similar(api_as(None), description=PARAGRAPH)

    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results, "an AND of the whole paragraph would find nothing"
    assert results[0]["id"] == cases["cold_chain"].id
    assert cases["solar"].id not in [r["id"] for r in results]


def test_results_carry_the_documented_fields(api_as, cases):
    result = similar(api_as(None), description=PARAGRAPH).get_json()["results"][0]

    assert set(result) == {"id", "external_id", "title", "summary", "url", "score", "why"}
    assert result["title"] == "Cold-chain warehouse at a border park"
    assert result["url"].endswith(f"/cases/{cases['cold_chain'].id}")
    assert result["score"] > 0


def test_why_names_shared_terms_sector_and_markets(api_as, cases):
    results = similar(api_as(None), description=PARAGRAPH, title="Border cold store", sector="logistics",
                      target_markets=["KZ", "UZ"]).get_json()["results"]

    why = results[0]["why"]
    assert results[0]["id"] == cases["cold_chain"].id
    assert {"warehouse", "exporters"} <= {term.lower() for term in why["terms"]}
    assert why["sector"] == "logistics"
    assert why["target_markets"] == ["KZ"]


def test_why_has_no_sector_or_market_when_they_differ(api_as, cases):
    results = similar(api_as(None), description=PARAGRAPH, sector="energy", target_markets=["BD"]).get_json()[
        "results"]

    cold = next(r for r in results if r["id"] == cases["cold_chain"].id)
    assert cold["why"]["sector"] is None
    assert cold["why"]["target_markets"] == []


def test_market_codes_in_lowercase_still_match(api_as, cases):
    results = similar(api_as(None), description=PARAGRAPH, target_markets=["kz"]).get_json()["results"]

    assert results[0]["why"]["target_markets"] == ["KZ"]


def test_structured_signals_alone_rank_matching_cases_higher(api_as, cases):
    description = "A leasing business for rooftop panels and a platform for garment buyers."
    results = similar(api_as(None), description=description, sector="textiles",
                      target_markets=["BD"]).get_json()["results"]

    assert results[0]["id"] == cases["textiles"].id


def test_retracted_and_draft_cases_are_never_similar(app, api_as, cast, cases, make_case):
    draft = make_case(cast.author, status="draft", title="Cold-chain warehouse draft",
                      summary="A refrigerated warehouse for fruit exporters, not yet published.")
    api = api_as(cast.author)
    assert similar(api, description=PARAGRAPH).get_json()["results"][0]["id"] == cases["cold_chain"].id

    response = api.post(f"/api/v1/cases/{cases['cold_chain'].id}/retract", json={"reason": "Duplicate entry."})
    assert response.status_code == 200

    ids = [r["id"] for r in similar(api, description=PARAGRAPH).get_json()["results"]]
    assert cases["cold_chain"].id not in ids
    assert draft.id not in ids


def test_similar_shows_only_cases_the_caller_may_open(api_as, cast, make_case):
    hidden = {
        "park": make_case(cast.author, visibility="park", title="Cold-chain warehouse for park members",
                          summary="A refrigerated warehouse for fruit exporters at the border."),
        "private": make_case(cast.author, visibility="private", title="Private cold-chain warehouse",
                             summary="A refrigerated warehouse for fruit exporters, kept private."),
    }
    users = ["visitor", "member_a", "member_b", "manager_a", "author", "manager_b", "admin"]

    found, leaked = {}, []
    for who in users:
        response = similar(api_as(None if who == "visitor" else getattr(cast, who)), description=PARAGRAPH, limit=50)
        ids = {r["id"] for r in response.get_json()["results"]}
        found[who] = {name for name, case in hidden.items() if case.id in ids}
        leaked += [(who, name) for name, case in hidden.items()
                   if name not in found[who] and case.title in response.get_data(as_text=True)]

    assert found == {"visitor": set(), "member_a": {"park"}, "member_b": set(), "manager_a": {"park", "private"},
                     "author": {"park", "private"}, "manager_b": set(), "admin": {"park", "private"}}
    assert leaked == []


def test_anonymized_organization_does_not_match(api_as, cast, make_case):
    make_case(cast.author, org_name="Huaxin Lighting Group", anonymize=True)

    results = similar(api_as(cast.author), description="Huaxin Huaxin Group").get_json()["results"]

    assert results == []


def test_limit(api_as, cast, make_case):
    for n in range(4):
        make_case(cast.author, title=f"Cold-chain warehouse number {n}",
                  summary="A refrigerated warehouse for fruit exporters.")
    api = api_as(None)

    assert len(similar(api, description=PARAGRAPH, limit=2).get_json()["results"]) == 2
    assert len(similar(api, description=PARAGRAPH, limit=50).get_json()["results"]) == 4
    assert len(similar(api, description=PARAGRAPH).get_json()["results"]) == 4


@pytest.mark.parametrize("body, field", [
    ({"description": PARAGRAPH, "limit": 51}, "limit"),
    ({"description": PARAGRAPH, "limit": 0}, "limit"),
    ({"description": PARAGRAPH, "limit": "many"}, "limit"),
    ({"title": "No description"}, "description"),
    ({"description": ""}, "description"),
    ({"description": PARAGRAPH, "sector": "mining"}, "sector"),
    ({"description": PARAGRAPH, "target_markets": ["XY"]}, "target_markets"),
])
def test_invalid_similar_requests_are_422(api_as, body, field):
    response = api_as(None).post("/api/v1/similar", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_similar_with_malformed_json_is_400(api_as):
    response = api_as(None).post("/api/v1/similar", data="{description:", content_type="application/json")

    assert response.status_code == 400


def test_description_with_no_known_words_finds_nothing(api_as, cases):
    response = similar(api_as(None), description="zzyzx qwxv")

    assert response.status_code == 200
    assert response.get_json()["results"] == []


def test_a_case_is_not_similar_to_itself_and_lists_its_neighbours(app, cast, cases, make_case):
    twin = make_case(cast.author, title="Refrigerated warehouse for fruit exporters at Khorgos",
                     summary="Exporters cleared customs elsewhere, so the cold-chain warehouse stood empty.",
                     sector="logistics", target_markets=["KZ"])

    with in_app(app), app.test_request_context():
        case = db.session.get(FailureCase, cases["cold_chain"].id)
        results = similar_to_case(None, case)

    ids = [r.case.id for r in results]
    assert cases["cold_chain"].id not in ids
    assert ids[0] == twin.id
    assert results[0].why["sector"] == "logistics"
    assert results[0].why["target_markets"] == ["KZ"]


@pytest.fixture
def loans(cast, make_case):
    return {
        "app": make_case(cast.author, title="Online personal loans app for gig workers",
                         summary="Microcredit to delivery riders defaulted when the platform cut their pay."),
        "farmers": make_case(cast.author, title="Microcredit cooperative for tea growers",
                             summary="Most microcredit defaulted after a drought ruined the harvest."),
        "solar": make_case(cast.author, title="Rooftop solar leasing in Hanoi",
                           summary="Leases were cancelled when the feed-in tariff ended."),
    }


def test_a_short_description_also_finds_the_cases_its_closest_case_resembles(api_as, loans):
    results = similar(api_as(None), description="online personal loans").get_json()["results"]

    ranked = [r["id"] for r in results]
    assert ranked[0] == loans["app"].id
    assert loans["farmers"].id in ranked, "shares no word with the description, only with its closest case"
    assert loans["solar"].id not in ranked
    farmers = results[ranked.index(loans["farmers"].id)]["why"]
    assert farmers["terms"] == []
    assert {"Microcredit", "microcredit"} & set(farmers["related_terms"])
    assert "defaulted" in farmers["related_terms"]


def test_without_feedback_only_cases_sharing_words_are_found(api_as, loans, monkeypatch):
    monkeypatch.setattr("zhigu.search.similar.FEEDBACK_DOCS", 0)

    results = similar(api_as(None), description="online personal loans").get_json()["results"]

    assert [r["id"] for r in results] == [loans["app"].id]
    assert results[0]["why"]["related_terms"] == []


def test_the_case_page_names_words_of_the_closest_cases(client, cast, loans, make_case, monkeypatch):
    monkeypatch.setattr("zhigu.search.similar.FEEDBACK_DOCS", 1)  # the closest case to the app: farmers
    insurance = make_case(cast.author, title="Drought insurance for tea growers",
                          summary="Growers never renewed a policy after one wet year.")

    page = client.get(f"/cases/{loans['app'].id}").get_data(as_text=True)

    whys = dict(re.findall(r'<a href="/cases/(\d+)">.*?<p class="why">(.*?)</p>', page, re.S))
    assert 'class="term">Microcredit<' in whys[str(loans["farmers"].id)]
    assert "words of the closest cases" not in whys[str(loans["farmers"].id)], "its own words"
    assert "words of the closest cases" in whys[str(insurance.id)]
    assert 'class="term term--related">Drought<' in whys[str(insurance.id)]


def test_feedback_keeps_the_other_languages_cases_in_their_places(api_as, cast, make_case, monkeypatch):
    """Feedback words are in the description's language: they re-order its cases, not the glossary's finds."""
    make_case(cast.author, title="冷库建成后闲置", summary="出口商不愿支付仓储费，冷库建成后闲置，运营公司亏损退出。")
    kin = [make_case(cast.author, title=title, summary=summary) for title, summary in [
        ("保税仓闲置", "出口商不愿支付仓储费，保税仓闲置，运营公司亏损退出。"),
        ("物流园仓库闲置", "入驻企业不愿支付仓储费，仓库闲置，运营公司亏损退出。"),
        ("口岸仓储中心亏损", "出口商不愿支付仓储费，运营公司亏损退出，中心关闭。"),
    ]]
    twin = make_case(cast.author, title="Cold storage for exporters",
                     summary="Exporters never paid for the cold storage at the border.")
    description = {"title": "冷库", "description": "在边境口岸为水果出口建设冷库。"}

    with_feedback = [r["id"] for r in similar(api_as(None), **description).get_json()["results"]]
    monkeypatch.setattr("zhigu.search.similar.FEEDBACK_DOCS", 0)
    without = [r["id"] for r in similar(api_as(None), **description).get_json()["results"]]

    assert twin.id in without, "found through the glossary (冷库: cold storage)"
    assert with_feedback.index(twin.id) == without.index(twin.id)
    assert {case.id for case in kin} & set(with_feedback) - set(without), "found through the closest case"


def test_related_terms_of_chinese_cases_are_words_not_character_pairs(api_as, cast, make_case):
    make_case(cast.author, title="冷库建成后闲置", summary="出口商不愿支付仓储费，冷库建成后闲置。")
    kin = make_case(cast.author, title="保税仓闲置", summary="出口商不愿支付仓储费，保税仓闲置。")

    results = similar(api_as(None), title="冷库", description="建设冷库。").get_json()["results"]

    why = next(r["why"] for r in results if r["id"] == kin.id)
    assert why["terms"] == []
    assert "出口商" in why["related_terms"]
    words = {word for word, *_ in analyse(f"{kin.title}\n{kin.summary}", bigrams=False)}
    assert set(why["related_terms"]) <= words
    assert "口商" not in why["related_terms"], "a character pair of 出口商, indexed but not a word"


def test_a_glossary_equivalent_is_named_as_the_case_writes_it_not_as_its_stem(api_as, cast, make_case):
    english = make_case(cast.author, title="Incubator chain expanded too fast",
                        summary="The incubators filled slowly and rents fell.")

    results = similar(api_as(None), description="孵化器租金补贴").get_json()["results"]

    why = next(r["why"] for r in results if r["id"] == english.id)
    assert "incub" not in why["terms"]
    assert {"incubators", "Incubator"} & set(why["terms"]), why["terms"]


def test_why_lists_equally_weighted_terms_in_one_order_whatever_the_order_they_matched_in():
    query = SimilarQuery(terms={"pilot": 1.0, "tariff": 1.0, "export": 1.0, "solar": 2.0},
                         surface={"pilot": "pilot", "tariff": "tariff", "export": "export", "solar": "Solar"})
    case = FailureCase(id=7, title="Solar pilot", summary="Export tariff trouble.")
    matched = [("title", "pilot"), ("summary", "tariff"), ("summary", "export"), ("title", "solar")]

    orders = {tuple(_why(order, query, case)["terms"]) for order in (matched, matched[::-1])}

    assert orders == {("Solar", "export", "pilot", "tariff")}


def test_similar_cases_do_not_change_when_a_case_is_indexed_again(app, cast, make_case):
    """Equally close cases: which of them feed the query expansion must not depend on document numbers,
    which re-indexing an unchanged case or rebuilding the index changes."""
    made = [make_case(cast.author, title=f"Pilot {name}", summary=summary, narrative="x", lessons="y")
            for name, summary in [("alpha", "mangoes rotted quickly"), ("bravo", "tractors rusted quickly"),
                                  ("charl", "ferries sank quickly"), ("delta", "kiosks closed quickly"),
                                  ("echos", "drones crashed quickly"), ("foxtr", "scooters broke quickly"),
                                  ("golfs", "lockers jammed quickly")]]
    for i in range(12):
        make_case(cast.author, title=f"Unrelated venture number {i}", summary=f"Filler summary {i} words here.",
                  narrative="x", lessons="y")

    def listed():
        with in_app(app):
            return [(r.case.id, r.why["related_terms"]) for r in similar_cases(None, description="pilot")]

    before = listed()
    with in_app(app):
        app.extensions["zhigu.search"].update_cases([made[0].id], raise_errors=True)  # same text, new docnum
    reindexed = listed()
    with in_app(app):
        outbox.rebuild(app.extensions["zhigu.search"])
    rebuilt = listed()

    assert any(related for _, related in before), "the expansion ran"
    assert reindexed == before and rebuilt == before


def test_why_leaves_out_words_most_cases_use(app, cast, make_case):
    """In an archive of WHY_MIN_CASES cases or more, a word held by more than WHY_MAX_SHARE of them explains
    nothing: it may still score, but `why` does not name it."""
    for n in range(WHY_MIN_CASES):  # a third of them plan and lose money: too many to tell, too few to be dropped
        make_case(cast.author, title=f"Warehouse number {n}" + (" plan" if n % 3 == 0 else ""),
                  summary=f"Warehouse {n} stood empty" + (" and lost money." if n % 3 == 0 else "."))
    kiosks = make_case(cast.author, title="Solar kiosk plan", summary="A plan for solar kiosks lost money.")

    with in_app(app):
        found = similar_cases(None, description="A plan for solar kiosks in villages that lost money.")

    why = next(result.why for result in found if result.case.id == kiosks.id)
    assert {"solar", "kiosks"} <= {term.lower() for term in why["terms"]}
    assert not {"plan", "money"} & {term.lower() for term in why["terms"]}


def test_why_never_names_a_stem_the_case_does_not_write():
    """A glossary equivalent the case holds only in its causes or narrative was shown as its stem ("pandem")."""
    query = SimilarQuery(terms={"solar": 2.0, "pandem": 1.0, "incub": 1.0},
                         surface={"solar": "Solar", "pandem": None, "incub": None})
    case = FailureCase(id=7, title="Solar incubators", summary="Kiosks closed.")
    matched = [("title", "solar"), ("causes_text", "pandem"), ("title", "incub")]

    assert _why(matched, query, case)["terms"] == ["Solar", "incubators"]


def test_candidate_vectors_kept_for_an_index_generation_are_not_used_after_a_rebuild(app, cast, make_case):
    """Document numbers change with the index: a rebuild after the first case left renumbers every other."""
    from zhigu.archive import services as archive_services
    from zhigu.auth.models import User
    from zhigu.search import statistics

    gone = make_case(cast.author, title="Kettle rental kiosk", summary="Kettles were rented by the hour.")
    for name in ("solar kettles", "kettle repair shop", "tea kettle export", "electric kettle pilot"):
        make_case(cast.author, title=name.capitalize(), summary=f"A {name} closed after a year of low sales.")

    def ranked():
        with in_app(app):
            return [(r.case.id, r.score, r.why) for r in similar_cases(None, description="kettle export pilot")]

    ranked()  # keeps the candidates' vectors
    with in_app(app):
        archive_services.retract_case(db.session.get(User, cast.author.id), db.session.get(FailureCase, gone.id),
                                      {"reason": "Withdrawn by its author."})
        outbox.rebuild(app.extensions["zhigu.search"])
    after = ranked()
    statistics._STATISTICS.clear()  # the vectors are weighed again
    statistics._LATEST.clear()

    assert after == ranked()
    assert gone.id not in [case_id for case_id, _, _ in after]
