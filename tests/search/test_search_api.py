"""GET /api/v1/cases: full-text search, facets, filters, pagination, sort, and what each viewer may see."""
from datetime import datetime, timezone

import pytest

from helpers import ALL_USERS, as_user, in_app
from zhigu.search.services import search_cases


@pytest.fixture
def archive(cast, make_case):
    """Published cases of every visibility, plus a draft and a retracted case that nobody finds."""
    return {
        "public": make_case(cast.author, title="Smart lighting in Almaty", sector="construction",
                            target_markets=["KZ"], causes=["market.no_demand"], region="Zhejiang/Hangzhou"),
        "park": make_case(cast.author, title="Smart rooftop solar for a bonded zone", visibility="park",
                          sector="energy", target_markets=["VN"], causes=["policy.local_protectionism"]),
        "private": make_case(cast.author, title="Smart clinic kiosks in Jakarta", visibility="private",
                             sector="health", target_markets=["ID"], causes=["money.cash_out"]),
        "private_b": make_case(cast.curator_b, title="Smart payments for bazaars", visibility="private",
                               sector="fintech", target_markets=["UZ"], causes=["team.skills_gap"]),
        "draft": make_case(cast.author, status="draft", title="Smart classrooms in Bangkok", sector="education",
                           target_markets=["TH"], causes=["product.quality"]),
        "retracted": make_case(cast.author, status="retracted", title="Smart hotel check-in in Osaka",
                               sector="tourism", target_markets=["JP"], causes=["execution.bad_timing"]),
    }


SEES = {
    "visitor": {"public"},
    "author": {"public", "park", "private"},
    "member_a": {"public", "park"},
    "curator_a": {"public", "park"},
    "manager_a": {"public", "park", "private"},
    "member_b": {"public"},
    "curator_b": {"public", "private_b"},
    "manager_b": {"public", "private_b"},
    "admin": {"public", "park", "private", "private_b"},
}
SECTOR = {"public": "construction", "park": "energy", "private": "health", "private_b": "fintech"}
MARKET = {"public": "KZ", "park": "VN", "private": "ID", "private_b": "UZ"}


def facet(body, name):
    return {item["value"]: item["count"] for item in body["facets"][name]}


@pytest.mark.parametrize("query", ["smart", ""])
def test_results_counts_and_facets_hold_only_what_the_viewer_may_open(api_as, cast, archive, query):
    seen, leaked = {}, []
    for who in ALL_USERS:
        response = as_user(api_as, cast, who).get("/api/v1/cases", query_string={"q": query})
        assert response.status_code == 200
        body = response.get_json()
        seen[who] = {
            "results": {r["id"] for r in body["results"]},
            "total": body["total"],
            "sector": facet(body, "sector"),
            "market": facet(body, "market"),
            "causes counted": sum(facet(body, "cause").values()),
        }
        text = response.get_data(as_text=True)
        leaked += [(who, name) for name in archive if name not in SEES[who] and archive[name].title in text]

    assert seen == {who: {
        "results": {archive[name].id for name in SEES[who]},
        "total": len(SEES[who]),
        "sector": {SECTOR[name]: 1 for name in SEES[who]},
        "market": {MARKET[name]: 1 for name in SEES[who]},
        "causes counted": len(SEES[who]),
    } for who in ALL_USERS}
    assert leaked == []


def test_facets_name_every_dimension(api_as, cast, archive):
    body = api_as(cast.admin).get("/api/v1/cases").get_json()

    assert set(body["facets"]) == {"cause", "family", "sector", "region", "market", "stage", "year", "language"}
    assert facet(body, "family") == {"market": 1, "policy": 1, "money": 1, "team": 1}
    assert facet(body, "region") == {"Zhejiang": 1}
    assert facet(body, "stage") == {"pilot": 4}
    assert facet(body, "language") == {"en": 4}
    assert facet(body, "year") == {str(datetime.now(timezone.utc).year): 4}


def test_filters_narrow_results_and_combine(api_as, cast, archive):
    api = api_as(cast.admin)

    def ids(**query):
        return {r["id"] for r in api.get("/api/v1/cases", query_string=query).get_json()["results"]}

    assert ids(sector="energy") == {archive["park"].id}
    assert ids(sector=["energy", "health"]) == {archive["park"].id, archive["private"].id}
    assert ids(cause="money.cash_out") == {archive["private"].id}
    assert ids(family="policy") == {archive["park"].id}
    assert ids(market="UZ") == {archive["private_b"].id}
    assert ids(sector="energy", market="KZ") == set()
    assert ids(q="jakarta", sector="health") == {archive["private"].id}
    assert ids(q="jakarta", sector="energy") == set()
    assert ids(sector="tourism") == set()  # the retracted case


def test_filter_counts_respect_visibility(api_as, cast, archive):
    body = api_as(None).get("/api/v1/cases", query_string={"sector": "health"}).get_json()

    assert body["total"] == 0
    assert body["results"] == []
    assert facet(body, "sector") == {}


def test_full_text_matches_stemmed_words_and_highlights_them(api_as, cast, make_case):
    case = make_case(cast.author, title="Cold store for Kazakh growers",
                     summary="The refrigerated warehouses stood empty because melons were sold at the farm gate.")

    body = api_as(None).get("/api/v1/cases", query_string={"q": "warehouse melon"}).get_json()

    assert [r["id"] for r in body["results"]] == [case.id]
    assert "<mark" in body["results"][0]["snippet"]
    assert body["results"][0]["score"] > 0


def test_words_are_anded_by_default(api_as, cast, make_case):
    make_case(cast.author, title="Drone deliveries in Almaty", summary="The drones could not fly in the winds.")

    api = api_as(None)
    assert api.get("/api/v1/cases", query_string={"q": "drone almaty"}).get_json()["total"] == 1
    assert api.get("/api/v1/cases", query_string={"q": "drone jakarta"}).get_json()["total"] == 0
    assert api.get("/api/v1/cases", query_string={"q": "drone OR jakarta"}).get_json()["total"] == 1


def test_title_and_summary_weigh_more_than_the_narrative(api_as, cast, make_case):
    in_narrative = make_case(cast.author, title="Logistics hub pilot", summary="A hub that never filled up.",
                             narrative="The tender asked for an irrigation system nobody used.")
    in_title = make_case(cast.author, title="Irrigation controllers for cotton farms",
                         summary="Controllers failed in the dust.", narrative="Nothing more to say.")

    results = api_as(None).get("/api/v1/cases", query_string={"q": "irrigation"}).get_json()["results"]

    assert [r["id"] for r in results] == [in_title.id, in_narrative.id]


def test_chinese_text_is_segmented_into_words(api_as, cast, make_case):
    case = make_case(cast.author, title="跨境电商海外仓项目", language="zh",
                     summary="在哈萨克斯坦建设海外仓，但当地电商需求不足，仓库长期空置，最终关闭。",
                     narrative="", lessons="")
    make_case(cast.author, title="Textile mill in Dhaka", summary="The mill lost its buyers after a fire.")

    api = api_as(None)
    for query in ("电商", "海外仓", "哈萨克斯坦"):
        body = api.get("/api/v1/cases", query_string={"q": query}).get_json()
        assert [r["id"] for r in body["results"]] == [case.id], query
    assert api.get("/api/v1/cases", query_string={"language": "zh"}).get_json()["total"] == 1


def test_anonymized_organization_cannot_be_found_by_its_name(api_as, cast, make_case):
    make_case(cast.author, org_name="Huaxin Lighting Group", anonymize=True)
    named = make_case(cast.author, title="Water meters in Tashkent", org_name="Aqua Metering Co")

    for who in ("visitor", "member_a", "author", "manager_a", "admin"):
        api = as_user(api_as, cast, who)
        assert api.get("/api/v1/cases", query_string={"q": "Huaxin"}).get_json()["total"] == 0, who
        results = api.get("/api/v1/cases", query_string={"q": "Aqua"}).get_json()["results"]
        assert [r["id"] for r in results] == [named.id]


def test_anonymized_organization_is_hidden_in_search_results(api_as, cast, make_case):
    case = make_case(cast.author, org_name="Huaxin Lighting Group", anonymize=True)

    for who, sees in (("visitor", False), ("member_a", False), ("author", True), ("manager_a", True)):
        body = as_user(api_as, cast, who).get("/api/v1/cases", query_string={"q": "lighting"}).get_json()
        assert [r["id"] for r in body["results"]] == [case.id]
        assert body["results"][0]["org_name"] == ("Huaxin Lighting Group" if sees else None)
        assert ("Huaxin" in str(body)) is sees


def test_pagination(api_as, cast, make_case):
    ids = {make_case(cast.author, title=f"Smart kiosk pilot number {n}").id for n in range(5)}
    api = api_as(None)

    pages = [api.get("/api/v1/cases", query_string={"q": "kiosk", "per_page": 2, "page": n}).get_json()
             for n in (1, 2, 3)]

    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 and p["pages"] == 3 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3]
    seen = [r["id"] for p in pages for r in p["results"]]
    assert len(seen) == 5 and set(seen) == ids


def test_page_past_the_end_is_empty(api_as, cast, make_case):
    for n in range(3):
        make_case(cast.author, title=f"Smart kiosk pilot number {n}")

    body = api_as(None).get("/api/v1/cases", query_string={"q": "kiosk", "per_page": 2, "page": 5}).get_json()

    assert body["results"] == []
    assert body["total"] == 3


def test_sort_by_date(api_as, cast, make_case):
    ids = [make_case(cast.author, title=f"Smart kiosk pilot number {n}").id for n in range(4)]
    api = api_as(None)

    def order(sort, q="kiosk"):
        return [r["id"] for r in api.get("/api/v1/cases", query_string={"q": q, "sort": sort}).get_json()["results"]]

    assert order("newest") == ids[::-1]
    assert order("oldest") == ids
    assert order("newest", q="") == ids[::-1]
    assert sorted(order("relevance")) == sorted(ids)


def test_bad_queries_get_a_friendly_400(api_as, cast, make_case):
    make_case(cast.author)
    api = api_as(None)

    for query in ({"q": "published:[* TO *]"}, {"sort": "popularity"}, {"q": "x" * 1001}, {"page": "two"},
                  {"page": "0"}, {"per_page": "1000"}):
        response = api.get("/api/v1/cases", query_string=query)
        assert response.status_code == 400, query
        assert response.is_json
        assert response.get_json()["error"]
        assert "Traceback" not in response.get_data(as_text=True)


def test_odd_syntax_never_fails(api_as, cast, make_case):
    make_case(cast.author)
    api = api_as(None)

    for query in ('"unclosed', "title:(", "(", "AND", "NOT", "[", "^", "*", "~", "\\", "published:abc",
                  "sensors~x", "title:", "cause:*", "allowed:*", "id:1", "a" * 1000):
        response = api.get("/api/v1/cases", query_string={"q": query})
        assert response.status_code in (200, 400), query
        assert response.is_json


def test_quoted_phrase_is_not_a_server_error(api_as, cast, make_case):
    make_case(cast.author)

    response = api_as(None).get("/api/v1/cases", query_string={"q": '"street lighting"'})

    assert response.status_code in (200, 400)


def test_search_service_agrees_with_the_api(app, cast, archive):
    from zhigu.auth.models import User
    from zhigu.extensions import db

    with in_app(app):
        page = search_cases(db.session.get(User, cast.member_a.id), "smart", {"sector": ["energy"]})
        assert [r.case.id for r in page.results] == [archive["park"].id]
        assert page.total == 1


def test_multi_valued_facet_counts_follow_the_index_as_it_changes(api_as, cast, archive, make_case):
    """Cause and market counts come from per-searcher caches: a newly published case must show at once."""
    visitor = as_user(api_as, cast, "visitor")
    before = visitor.get("/api/v1/cases", query_string={"q": "smart"}).get_json()
    assert facet(before, "market") == {"KZ": 1}
    make_case(cast.author, title="Smart streetlights in Shymkent", target_markets=["KZ", "UZ"],
              causes=["market.no_demand", "money.cash_out"])
    after = visitor.get("/api/v1/cases", query_string={"q": "smart"}).get_json()
    assert facet(after, "market") == {"KZ": 2, "UZ": 1}
    assert facet(after, "cause") == {"market.no_demand": 2, "money.cash_out": 1}
    filtered = visitor.get("/api/v1/cases", query_string={"q": "smart", "market": "UZ"}).get_json()
    assert filtered["total"] == 1 and facet(filtered, "market") == {"KZ": 1, "UZ": 1}


def test_the_year_facet_lists_the_newest_year_first_whatever_the_counts(client, cast, make_case):
    for ended_on in ("2019-05-01", "2023-02-01", "2023-03-01", "2021-07-01"):
        make_case(cast.author, ended_on=ended_on)

    body = client.get("/api/v1/cases").get_json()

    assert [(item["value"], item["count"]) for item in body["facets"]["year"]] == [
        ("2023", 2), ("2021", 1), ("2019", 1)]
    assert [item["value"] for item in body["facets"]["sector"]] == ["construction"]
