"""The trends page, its CSV downloads and `GET /api/v1/trends`: access, field errors, visibility, no inline code."""
import csv
import io
import re

import pytest

from helpers import in_app, page, text
from zhigu.archive.models import FailureCase
from zhigu.extensions import db

YEAR = "from=2024-01-01&to=2024-12-31"


@pytest.fixture
def two_parks(app, cast, make_case):
    """A public case of park A, a private one of A, and a private one of B, all ended in 2024."""
    made = [
        make_case(cast.author, causes=["market.no_demand"], ended_on="2024-02-10", money_lost="100", currency="CNY",
                  region="Zhejiang/Hangzhou", title="Public case of park A"),
        make_case(cast.author, causes=["money.cash_out"], ended_on="2024-05-10", visibility="private",
                  region="Zhejiang/Hangzhou", title="Private case of park A"),
        make_case(cast.curator_b, causes=["partners.supply_chain"], ended_on="2024-06-10", visibility="private",
                  region="Jiangsu/Suzhou", title="=HYPERLINK(\"x\") private case of park B"),
    ]
    return made


# -- API --------------------------------------------------------------------------------------------------

def test_api_trends_counts_public_cases_for_a_visitor_and_needs_a_login_for_a_park(api_as, cast, two_parks):
    everyone = api_as(None).get(f"/api/v1/trends?{YEAR}")
    manager = api_as(cast.manager_a).get(f"/api/v1/trends?{YEAR}").get_json()
    park = api_as(None).get("/api/v1/trends?scope=park")

    assert everyone.status_code == 200 and manager["total"] == 2
    assert everyone.get_json()["total"] == 1  # the public case only
    assert "Private case" not in everyone.get_data(as_text=True)
    assert park.status_code == 401 and park.is_json


def test_api_trends_field_errors(api_as, cast):
    response = api_as(cast.manager_a).get("/api/v1/trends?scope=galaxy&from=2024-99-01&by=colour")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"scope", "from", "by"}

    response = api_as(cast.admin).get("/api/v1/trends?scope=park")  # an admin without a park
    assert response.status_code == 422
    assert "scope" in response.get_json()["errors"]


def test_api_trends_counts_what_the_caller_may_see(api_as, cast, two_parks):
    mine = api_as(cast.manager_a).get(f"/api/v1/trends?{YEAR}&by=cause").get_json()
    assert mine["total"] == 2
    assert mine["from"] == "2024-01-01" and mine["to"] == "2024-12-31" and mine["granularity"] == "quarter"
    assert mine["counts"]["cause"] == [{"value": "market.no_demand", "count": 1}, {"value": "money.cash_out", "count": 1}]
    assert mine["timeline"][0] == {"value": "market.no_demand", "counts": [1, 0, 0, 0], "total": 1}
    assert mine["money_lost"] == [{"cause": "market.no_demand", "currency": "CNY", "n": 1, "median": 100.0,
                                   "p25": 100.0, "p75": 100.0, "low": 100.0, "high": 100.0}]
    assert mine["top_causes"][0]["count"] == 1 and mine["previous"]["total"] == 0

    member = api_as(cast.member_a).get(f"/api/v1/trends?{YEAR}").get_json()
    assert member["total"] == 1
    everyone = api_as(cast.admin).get(f"/api/v1/trends?{YEAR}&scope=region&region=Jiangsu").get_json()
    assert everyone["total"] == 1 and everyone["region"] == "Jiangsu"


def test_api_trends_ignores_drafts(api_as, cast, make_case):
    make_case(cast.author, status="draft", ended_on="2024-03-03")
    assert api_as(cast.admin).get(f"/api/v1/trends?{YEAR}").get_json()["total"] == 0


# -- page -------------------------------------------------------------------------------------------------

def test_visitors_see_public_trends_only(client, two_parks):
    response = client.get(f"/trends?{YEAR}")
    assert response.status_code == 200
    tree = page(response)
    assert "1 failure from" in text(tree.select_one("#trends-summary"))  # the public case; both private ones not
    assert tree.select_one("#trends-public-note a[href^='/login']") is not None
    assert [o.attrs["value"] for o in tree.select("select[name=scope] option")] == ["all", "region"]
    assert tree.select_one("#section-attempts") is None  # initiatives are never counted for visitors
    rows = list(csv.reader(io.StringIO(client.get(f"/trends/cause.csv?{YEAR}").get_data(as_text=True))))
    assert rows == [["primary cause", "count"], ["market.no_demand", "1"]]


@pytest.mark.parametrize(("who", "scopes"), [("manager_a", ["park", "region", "all"]), ("admin", ["region", "all"])])
def test_my_park_is_offered_only_to_those_who_belong_to_one(client, auth, cast, who, scopes):
    """An admin belongs to no park: choosing "My park" only answered that (a 422 with the form)."""
    auth.login(getattr(cast, who))
    tree = page(client.get("/trends"))
    assert [o.attrs["value"] for o in tree.select("select[name=scope] option")] == scopes


def test_visitors_are_sent_to_log_in_for_their_park(client):
    for url in ("/trends?scope=park", "/trends/cause.csv?scope=park"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/trends?scope=park").status_code == 401  # the API asks who is calling, not redirects


def test_change_is_called_out_only_from_the_minimum_n(client, auth, cast, make_case):
    from zhigu.trends.services import MIN_COMPARE_N
    for day in range(1, 3):
        make_case(cast.author, causes=["market.no_demand"], ended_on=f"2024-03-0{day}")
    make_case(cast.author, causes=["money.cash_out"], ended_on="2023-03-01")
    auth.login(cast.manager_a)
    tree = page(client.get(f"/trends?{YEAR}"))
    basis = text(tree.select_one("#top-causes-basis"))
    assert "(n = 2)" in basis and "(n = 1)" in basis and f"n = {MIN_COMPARE_N}" in basis
    assert "Dec 31, 2022" in basis and "Dec 31, 2023" in basis  # the previous period, same length, just before
    assert tree.select_one("#section-top_causes .change--up, #section-top_causes .change--down") is None

    for day in range(10, 20):
        make_case(cast.author, causes=["market.no_demand"], ended_on=f"2024-04-{day}")
        make_case(cast.author, causes=["money.cash_out"], ended_on=f"2023-04-{day}")
    tree = page(client.get(f"/trends?{YEAR}"))
    assert tree.select_one("#top-causes-basis .too-few") is None
    assert tree.select_one("#section-top_causes .change--up") is not None


def test_dashboard_draws_svg_charts_with_their_tables_and_no_inline_code(client, auth, cast, two_parks):
    auth.login(cast.manager_a)
    response = client.get(f"/trends?{YEAR}&by=family&scope=all")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert html.count("<svg") >= 8
    for chart in ("timeline", "cause", "family", "sector", "region", "market", "stage", "money", "time_to_failure",
                  "top_causes", "recurrence"):
        assert f'id="table-{chart}"' in html, chart
        assert f"/trends/{chart}.csv?" in html, chart
    assert "supply_chain" not in html and "Supply chain" not in html  # park B's private case counts nowhere
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # only the site's external script
    assert re.search(r" on[a-z]+=", html) is None
    # the filters stay in the URL: each download repeats them
    assert "/trends/cause.csv?from=2024-01-01&amp;to=2024-12-31&amp;by=family&amp;scope=all" in html


def test_filters_show_the_values_in_force(client, auth, cast):
    auth.login(cast.manager_a)
    html = client.get("/trends?from=2024-01-01").get_data(as_text=True)
    assert '<option value="all" selected>' in html  # the default scope, though not in the URL
    assert 'value="2024-01-01"' in html


def test_spread_chart_labels_sit_above_their_boxes():
    from zhigu.trends.charts import spread_chart
    from zhigu.trends.services import Spread

    chart = spread_chart([("a", Spread.of([10, 20])), ("b", Spread.of([100, 300]))])
    assert [bar.label_x for bar in chart.bars] == [0, 0]
    assert all(bar.label_y < bar.y for bar in chart.bars) and chart.bars[1].label_y > chart.bars[0].y
    assert chart.bars[1].x > chart.bars[0].x and max(b.x + b.width for b in chart.bars) <= chart.width - 130


def test_chart_labels_wrap_at_whole_words_and_never_overflow():
    from zhigu.trends.charts import WIDTH, bar_chart, text_width, wrap

    long = "No demand: customers did not want the product at the price we could offer them in Kazakhstan"
    lines = wrap(long)
    assert len(lines) > 1 and " ".join(lines) == long  # nothing cut, nothing lost
    assert all(text_width(line) <= WIDTH for line in lines)
    chinese = "市场需求不足：客户不愿以我们能提供的价格购买产品，哈萨克斯坦的渠道伙伴也不愿意承担库存风险"
    assert "".join(wrap(chinese)) == chinese and len(wrap(chinese)) > 1
    chart = bar_chart([("a", 3), ("b", 1)], labeller=lambda code: long if code == "a" else "Short")
    assert chart.bars[0].lines == lines and chart.bars[1].lines == ["Short"]
    assert chart.bars[1].label_y > chart.bars[0].y + chart.bars[0].height  # the next label starts below the bar
    assert max(b.x + b.width for b in chart.bars) <= WIDTH


def test_dashboard_shows_filter_errors(client, auth, cast):
    auth.login(cast.manager_a)
    response = client.get("/trends?scope=region&from=not-a-date")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Name the region" in html and "Not a valid date" in html


def test_csv_download_holds_the_chart_numbers(client, auth, cast, two_parks):
    auth.login(cast.manager_a)
    response = client.get(f"/trends/cause.csv?{YEAR}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["primary cause", "count"], ["market.no_demand", "1"], ["money.cash_out", "1"]]

    assert client.get("/trends/nothing.csv").status_code == 404


def test_csv_cells_never_start_a_formula(client, auth, cast, make_case, app):
    case = make_case(cast.author, region="=cmd|' /C calc'!A0", ended_on="2024-02-02")
    auth.login(cast.admin)
    rows = list(csv.reader(io.StringIO(client.get(f"/trends/region.csv?{YEAR}").get_data(as_text=True))))
    assert rows[1][0].startswith("'=")
    with in_app(app):
        assert db.session.get(FailureCase, case.id).region.startswith("=")


def test_nav_links_to_trends_for_everyone(client, auth, cast):
    assert 'href="/trends"' in client.get("/").get_data(as_text=True)
    auth.login(cast.member_a)
    assert 'href="/trends"' in client.get("/").get_data(as_text=True)
