"""The trends page, its CSV downloads and `GET /api/v1/trends`: access, field errors, visibility, no inline code."""
import csv
import io
import re

import pytest

from helpers import in_app
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

def test_api_trends_needs_a_login(api_as):
    response = api_as(None).get("/api/v1/trends")
    assert response.status_code == 401
    assert response.is_json


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

def test_visitors_are_sent_to_log_in(client):
    response = client.get("/trends")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/trends/cause.csv").status_code == 302


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


def test_spread_chart_labels_stay_in_the_label_column():
    from zhigu.trends.charts import LABEL_WIDTH, spread_chart
    from zhigu.trends.services import Spread

    chart = spread_chart([("a", Spread.of([10, 20])), ("b", Spread.of([100, 300]))])
    assert [bar.label_x for bar in chart.bars] == [LABEL_WIDTH, LABEL_WIDTH]
    assert chart.bars[1].x > chart.bars[0].x and max(b.x + b.width for b in chart.bars) <= chart.width - 130


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


def test_nav_links_to_trends_only_for_logged_in_users(client, auth, cast):
    assert 'href="/trends"' not in client.get("/").get_data(as_text=True)
    auth.login(cast.member_a)
    assert 'href="/trends"' in client.get("/").get_data(as_text=True)
