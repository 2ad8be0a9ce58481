"""Trends aggregates on a known fixture archive: every count, share, median and spread computed by hand.

The portfolio (2024 is the window; 2023 the previous period, as the window is 366 days long the previous one
is 2022-12-31..2023-12-31):

    #  park  filer       visibility  status     cause              sector  region            markets  stage     started     ended       money
    1  A     author      public      published  market.no_demand   energy  Zhejiang/Hangzhou KZ, UZ   pilot     2023-01-01  2024-02-10  100 CNY
    2  A     author      public      published  market.no_demand   energy  Zhejiang/Ningbo   KZ       idea      2024-01-01  2024-05-01  300 CNY
    3  A     author      private     published  money.cash_out     health  Zhejiang/Hangzhou -        launched  -           2024-08-15  50 USD
    4  B     curator_b   private     published  money.cash_out     health  Jiangsu/Suzhou    -        pilot     -           2024-03-01  -
    5  B     curator_b   park        published  market.no_demand   energy  Jiangsu/Suzhou    KZ       pilot     -           2024-04-01  -
    6  A     author      public      draft      market.no_demand   ...                                                    2024-06-01
    7  A     author      public      retracted  market.no_demand   ...                                                    2024-06-01
    8  A     author      public      published  market.no_demand   ...                                                    2023-06-01
    9  A     author      public      published  money.cash_out     ...                                                    2023-07-01
"""
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from flask_login import AnonymousUserMixin
from sqlalchemy import and_, func, insert, select, text

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.archive.models import CaseCause, Cause, FailureCase, failure_date
from zhigu.archive.permissions import can_view_case, published_visible_clause
from zhigu.extensions import db
from zhigu.trends import services
from zhigu.trends.services import (NONE, Spread, Window, compute_trends, default_window, markets_query, periods_of,
                                   spreads_query)

YEAR_2024 = {"from": "2024-01-01", "to": "2024-12-31"}


@pytest.fixture
def portfolio(ctx, cast, make_case):
    a, b = cast.author, cast.curator_b
    rows = [
        (a, "published", dict(causes=["market.no_demand"], sector="energy", region="Zhejiang/Hangzhou",
                              target_markets=["KZ", "UZ"], stage_reached="pilot", started_on="2023-01-01",
                              ended_on="2024-02-10", money_lost="100", currency="CNY")),
        (a, "published", dict(causes=["market.no_demand"], sector="energy", region="Zhejiang/Ningbo",
                              target_markets=["KZ"], stage_reached="idea", started_on="2024-01-01",
                              ended_on="2024-05-01", money_lost="300", currency="CNY")),
        (a, "published", dict(causes=["money.cash_out"], sector="health", region="Zhejiang/Hangzhou",
                              target_markets=[], stage_reached="launched", ended_on="2024-08-15",
                              money_lost="50", currency="USD", visibility="private")),
        (b, "published", dict(causes=["money.cash_out"], sector="health", region="Jiangsu/Suzhou",
                              target_markets=[], ended_on="2024-03-01", visibility="private")),
        (b, "published", dict(causes=["market.no_demand"], sector="energy", region="Jiangsu/Suzhou",
                              target_markets=["KZ"], ended_on="2024-04-01", visibility="park")),
        (a, "draft", dict(ended_on="2024-06-01")),
        (a, "retracted", dict(ended_on="2024-06-01")),
        (a, "published", dict(causes=["market.no_demand"], ended_on="2023-06-01")),
        (a, "published", dict(causes=["money.cash_out"], ended_on="2023-07-01")),
    ]
    return [make_case(author, status=status, **overrides) for author, status, overrides in rows]


def trends_for(user, **params):
    return compute_trends(reload(user), {**YEAR_2024, **params}, with_recurrences=False)


def test_manager_counts_own_park_private_cases_not_other_parks(portfolio, cast):
    trends = trends_for(cast.manager_a)

    assert trends.total == 3
    assert trends.previous_total == 2
    assert trends.counts["cause"] == [("market.no_demand", 2), ("money.cash_out", 1)]
    assert trends.counts["family"] == [("market", 2), ("money", 1)]
    assert trends.counts["sector"] == [("energy", 2), ("health", 1)]
    assert trends.counts["region"] == [("Zhejiang/Hangzhou", 2), ("Zhejiang/Ningbo", 1)]
    assert trends.counts["market"] == [("KZ", 2), ("(none)", 1), ("UZ", 1)]
    assert trends.counts["stage"] == [("idea", 1), ("launched", 1), ("pilot", 1)]


@pytest.mark.parametrize("who, expected", [
    ("admin", 5),        # every published case in the window
    ("manager_a", 3),    # 1, 2 and A's private 3
    ("author", 3),       # the filer of 1, 2, 3
    ("member_a", 2),     # public 1, 2 only: 3 is private
    ("member_b", 3),     # public 1, 2 and B's park case 5
    ("manager_b", 4),    # 1, 2 and B's cases 4, 5
    ("curator_a", 2),
])
def test_nobody_counts_a_case_they_may_not_open(portfolio, cast, who, expected):
    assert trends_for(getattr(cast, who)).total == expected


def test_sql_visibility_matches_can_view_case_for_every_role(portfolio, cast):
    cases = db.session.scalars(select(FailureCase)).all()
    for name in ("admin", "manager_a", "manager_b", "author", "member_a", "member_b", "curator_a", "curator_b"):
        user = reload(getattr(cast, name))
        by_sql = set(db.session.scalars(select(FailureCase.id).where(published_visible_clause(user))))
        by_rule = {case.id for case in cases if case.status == "published" and can_view_case(user, case)}
        assert by_sql == by_rule, name


def test_shares_and_their_change_against_the_previous_period(portfolio, cast):
    top = trends_for(cast.manager_a).top_causes

    assert top == [
        {"cause": "market.no_demand", "count": 2, "share": 0.6667, "previous_count": 1, "previous_share": 0.5,
         "change": 0.1667},
        {"cause": "money.cash_out", "count": 1, "share": 0.3333, "previous_count": 1, "previous_share": 0.5,
         "change": -0.1667},
    ]


def test_money_and_time_to_failure_medians_and_spread_by_cause(portfolio, cast):
    trends = trends_for(cast.manager_a)

    assert trends.money == [
        ("market.no_demand", "CNY", Spread(n=2, median=200.0, p25=150.0, p75=250.0, low=100.0, high=300.0)),
        ("money.cash_out", "USD", Spread(n=1, median=50.0, p25=50.0, p75=50.0, low=50.0, high=50.0)),
    ]
    # 2023-01-01 -> 2024-02-10 is 405 days; 2024-01-01 -> 2024-05-01 is 121; case 3 has no start date.
    assert trends.time_to_failure == [
        ("market.no_demand", Spread(n=2, median=263.0, p25=192.0, p75=334.0, low=121.0, high=405.0)),
    ]


def test_timeline_by_quarter_and_by_year(portfolio, cast):
    trends = trends_for(cast.manager_a)
    assert trends.granularity == "quarter"
    assert trends.periods == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert trends.timeline == {
        "market.no_demand": {"2024-Q1": 1, "2024-Q2": 1, "2024-Q3": 0, "2024-Q4": 0},
        "money.cash_out": {"2024-Q1": 0, "2024-Q2": 0, "2024-Q3": 1, "2024-Q4": 0},
    }

    long = compute_trends(reload(cast.admin), {"from": "2020-01-01", "to": "2024-12-31", "by": "family"},
                          with_recurrences=False)
    assert long.granularity == "year"
    assert long.periods == ["2020", "2021", "2022", "2023", "2024"]
    assert long.timeline == {"market": {"2020": 0, "2021": 0, "2022": 0, "2023": 1, "2024": 3},
                             "money": {"2020": 0, "2021": 0, "2022": 0, "2023": 1, "2024": 2}}


@pytest.mark.parametrize("by,expected", [
    ("sector", {"energy": {"2024-Q1": 1, "2024-Q2": 1, "2024-Q3": 0, "2024-Q4": 0},
                "health": {"2024-Q1": 0, "2024-Q2": 0, "2024-Q3": 1, "2024-Q4": 0}}),
    ("stage", {"pilot": {"2024-Q1": 1, "2024-Q2": 0, "2024-Q3": 0, "2024-Q4": 0},
               "idea": {"2024-Q1": 0, "2024-Q2": 1, "2024-Q3": 0, "2024-Q4": 0},
               "launched": {"2024-Q1": 0, "2024-Q2": 0, "2024-Q3": 1, "2024-Q4": 0}}),
])
def test_timeline_by_a_column_of_the_case_and_the_counts_beside_it(portfolio, cast, by, expected):
    trends = trends_for(cast.manager_a, by=by)
    assert trends.timeline == expected
    assert trends.counts["family"] == [("market", 2), ("money", 1)]  # the cause pass without the timeline
    assert sum(count for _, count in trends.counts[by]) == trends.total == 3


def test_timeline_by_market_counts_each_market_of_a_case(portfolio, cast):
    trends = trends_for(cast.manager_a, by="market")
    assert trends.timeline["KZ"] == {"2024-Q1": 1, "2024-Q2": 1, "2024-Q3": 0, "2024-Q4": 0}
    assert trends.timeline["UZ"]["2024-Q1"] == 1
    # the market counts come from the timeline's pass then, and are those of any other timeline
    assert trends.counts["market"] == trends_for(cast.manager_a).counts["market"] == [("KZ", 2), (NONE, 1), ("UZ", 1)]


def test_scope_park_and_region(portfolio, cast):
    assert trends_for(cast.manager_b, scope="park").total == 2                    # 4 and 5
    assert trends_for(cast.admin, scope="region", region="Zhejiang").total == 3
    assert trends_for(cast.admin, scope="region", region="Zhejiang/Hangzhou").total == 2
    assert trends_for(cast.admin, scope="region", region="Zhe").total == 0       # whole parts only
    assert trends_for(cast.member_a, scope="region", region="Jiangsu").total == 0  # 4, 5 are not theirs


def test_scope_park_without_a_park_is_a_field_error(portfolio, cast):
    with pytest.raises(ValidationError) as err:
        trends_for(cast.admin, scope="park")
    assert "scope" in err.value.messages


@pytest.mark.parametrize("params, field", [
    ({"scope": "planet"}, "scope"),
    ({"scope": "region"}, "region"),
    ({"from": "2024-13-01"}, "from"),
    ({"from": "2024-05-01", "to": "2024-04-01"}, "from"),
    ({"by": "colour"}, "by"),
])
def test_bad_filters_are_field_errors(ctx, cast, params, field):
    with pytest.raises(ValidationError) as err:
        compute_trends(reload(cast.manager_a), params, with_recurrences=False)
    assert field in err.value.messages


def test_windows_and_periods():
    # Eight quarters, the current one (2024-Q3) included: 2022-Q4 to today.
    assert default_window(date(2024, 8, 15)) == Window(date(2022, 10, 1), date(2024, 8, 15))
    assert Window(date(2024, 1, 1), date(2024, 12, 31)).previous() == Window(date(2022, 12, 31), date(2023, 12, 31))
    assert periods_of(Window(date(2023, 11, 5), date(2024, 2, 1)), "quarter") == ["2023-Q4", "2024-Q1"]


def test_case_without_end_date_counts_when_published(ctx, cast, make_case):
    case = make_case(cast.author)
    case.published_at = datetime(2024, 3, 31, 23, 30)
    db.session.commit()

    assert trends_for(cast.admin).timeline == {"market.no_demand": {"2024-Q1": 1, "2024-Q2": 0, "2024-Q3": 0,
                                                                     "2024-Q4": 0}}
    assert compute_trends(reload(cast.admin), {"from": "2024-03-31", "to": "2024-03-31"},
                          with_recurrences=False).total == 1


def test_visitor_and_unknown_users_may_not_see_trends(ctx):
    from flask_login import AnonymousUserMixin
    from zhigu.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        compute_trends(AnonymousUserMixin(), {})


# -- recurrences ------------------------------------------------------------------------------------------

SOLAR = dict(title="Rooftop solar leasing for factories in Tashkent",
             summary="Leased rooftop solar panels to textile factories in Tashkent; the grid operator refused "
                     "net metering and the leases never paid back.",
             lessons="Secure the grid operator's net metering approval before signing leases.",
             causes=["policy.regulation"], sector="energy", target_markets=["UZ"])
BAKERY = dict(title="Bakery chain franchise in Almaty", causes=["market.no_demand"], sector="agriculture",
              summary="A franchise of Chinese bakeries opened six shops but customers preferred local bread.",
              lessons="Test the product with local customers before opening shops.", target_markets=["KZ"])


def _published(case, when: datetime):
    case.published_at = when
    db.session.commit()
    return case


def test_recurrence_lists_a_new_case_resembling_an_earlier_one(ctx, cast, make_case):
    earlier = _published(make_case(cast.author, **SOLAR), datetime(2023, 5, 1))
    again = _published(make_case(cast.author, **dict(SOLAR, title="Solar panel leases for Tashkent factories")),
                       datetime(2024, 6, 1))
    _published(make_case(cast.author, **BAKERY), datetime(2024, 7, 1))

    found = services.recurrences(reload(cast.manager_a), services.parse_params({}),
                                 Window(date(2024, 1, 1), date(2024, 12, 31)))

    assert [(r["case"].id, r["earlier"].id) for r in found] == [(again.id, earlier.id)]
    assert found[0]["score"] >= services.RECURRENCE_THRESHOLD


def test_recurrence_never_shows_an_earlier_case_the_viewer_may_not_open(ctx, cast, make_case):
    _published(make_case(cast.curator_b, **dict(SOLAR, visibility="private")), datetime(2023, 5, 1))
    _published(make_case(cast.author, **SOLAR), datetime(2024, 6, 1))

    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    assert services.recurrences(reload(cast.manager_a), params, window) == []
    assert len(services.recurrences(reload(cast.manager_b), params, window)) == 1



def test_default_window_holds_the_data_and_the_previous_period_the_rest(ctx, cast, make_case):
    for year, count in ((2019, 2), (2021, 3), (2022, 4), (2023, 6), (2024, 1)):
        for i in range(count):
            make_case(cast.author, ended_on=f"{year}-0{i + 1}-15")
    trends = compute_trends(reload(cast.admin), {}, today=date(2024, 8, 15), with_recurrences=False)

    # 2024 holds 1 of 16 and 2023-2024 7: 2022-2024 is the fewest whole years holding at least half (11)
    assert trends.window == Window(date(2022, 1, 1), date(2024, 8, 15))
    assert trends.total == 11 and trends.granularity == "quarter"
    assert trends.previous.end == date(2021, 12, 31) and trends.previous.days == trends.window.days
    assert trends.previous == Window(date(2019, 5, 19), date(2021, 12, 31))
    assert trends.previous_total == 3  # 2021's; the 2019 cases ended before the previous period began
    # an empty scope falls back to the last eight quarters
    empty = compute_trends(reload(cast.admin), {"scope": "region", "region": "Tibet"}, today=date(2024, 8, 15),
                           with_recurrences=False)
    assert empty.window == default_window(date(2024, 8, 15))


def test_visitors_count_public_cases_and_need_a_log_in_for_a_park(portfolio):
    from flask_login import AnonymousUserMixin
    from zhigu.errors import PermissionDenied

    visitor = AnonymousUserMixin()
    trends = compute_trends(visitor, YEAR_2024, with_recurrences=False, visitors=True)
    assert trends.total == 2 and trends.counts["cause"] == [("market.no_demand", 2)]  # the two public cases
    with pytest.raises(PermissionDenied):
        compute_trends(visitor, {**YEAR_2024, "scope": "park"}, with_recurrences=False, visitors=True)


def test_visitors_read_recurrences_from_the_stored_neighbours_without_searching(ctx, cast, make_case, monkeypatch):
    """The stored pairs give the list the live check gave, with no similar search on the page."""
    from flask_login import AnonymousUserMixin
    from zhigu.search import neighbours

    earlier = _published(make_case(cast.author, **SOLAR), datetime(2023, 5, 1))
    again = _published(make_case(cast.author, **dict(SOLAR, title="Solar panel leases for Tashkent factories")),
                       datetime(2024, 6, 1))
    _published(make_case(cast.author, **BAKERY), datetime(2024, 7, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    new_cases = db.session.scalars(select(FailureCase).where(FailureCase.published_at >= datetime(2024, 1, 1))
                                   .order_by(FailureCase.published_at.desc())).all()
    live = services._live_recurrences(AnonymousUserMixin(), new_cases)
    neighbours.compute_missing()

    monkeypatch.setattr(neighbours, "similar_to_case", lambda *a, **k: pytest.fail("searched"))
    found = compute_trends(AnonymousUserMixin(), YEAR_2024, visitors=True).recurrences

    assert [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in found] == \
        [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in live]
    assert [(r["case"].id, r["earlier"].id) for r in found] == [(again.id, earlier.id)]
    assert services.recurrences(reload(cast.manager_a), params, window)[0]["earlier"].id == earlier.id


def test_a_stored_recurrence_never_shows_a_case_made_private_since(ctx, cast, make_case, monkeypatch):
    """Even a stored pair nobody refreshed (a change that skipped the hooks): the SQL join hides the case."""
    from flask_login import AnonymousUserMixin
    from sqlalchemy import update
    from zhigu.archive.models import Visibility

    earlier = _published(make_case(cast.author, **SOLAR), datetime(2023, 5, 1))
    _published(make_case(cast.author, **dict(SOLAR, title="Solar panel leases for Tashkent factories")),
               datetime(2024, 6, 1))
    assert len(compute_trends(AnonymousUserMixin(), YEAR_2024, visitors=True).recurrences) == 1
    db.session.execute(update(FailureCase).where(FailureCase.id == earlier.id).values(visibility=Visibility.private))
    db.session.commit()

    assert compute_trends(AnonymousUserMixin(), YEAR_2024, visitors=True).recurrences == []
    assert compute_trends(reload(cast.member_b), YEAR_2024).recurrences == []


@pytest.mark.parametrize("viewer", ["visitor", "member"])
def test_a_windows_counts_are_read_from_the_trends_index_not_the_cases_rows(app, ctx, cast, viewer):
    """Each trends query filters by the visibility clause and the failure date: one index holds both, so the
    database never reads the cases' long rows (a scan of them cost 20-40 ms a query at 10,000 cases)."""
    user = AnonymousUserMixin() if viewer == "visitor" else reload(cast.member_a)
    query = select(FailureCase.sector, func.count(FailureCase.id)).where(
        published_visible_clause(user), failure_date() >= date(2020, 1, 1), failure_date() < date(2027, 1, 1)
    ).group_by(FailureCase.sector)
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read on SQLite (PostgreSQL picks by its statistics)")
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_failure_case_trends" in plan and "SCAN failure_case" not in plan, plan


@pytest.mark.parametrize("query", ["spreads", "markets"])
def test_the_spreads_and_markets_read_the_trends_indexes_not_the_rows(app, ctx, cast, query):
    """The money and time-to-failure spreads and the market counts read every case in scope: from the indexes,
    never the rows (the spreads at 100,000 cases in SQLite: 0.6 s of SQL against 0.2 s)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is read on SQLite (PostgreSQL picks by its statistics)")
    where = and_(published_visible_clause(reload(cast.member_a)), failure_date() >= date(2020, 1, 1))
    statement = spreads_query(where) if query == "spreads" else markets_query(where, *services._year_month())
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "COVERING INDEX ix_failure_case_trends" in plan, plan
    assert query == "markets" or "COVERING INDEX ix_case_cause_trends" in plan, plan


def test_spreads_are_the_quartiles_of_every_case_in_scope(ctx, cast):
    """Money by (cause, currency) and days to failure by cause over random cases: what Spread.of gives from the
    values themselves (PostgreSQL interpolates the quartiles in SQL, the other databases in Python)."""
    rng = random.Random(3)
    causes = db.session.execute(select(Cause.id, Cause.code).order_by(Cause.id).limit(3)).all()
    rows, links, money, days = [], [], {}, {}
    for number in range(1, 61):
        cause = rng.choice([*causes, None])
        ended = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
        started = ended - timedelta(days=rng.randrange(-20, 900)) if rng.random() < 0.8 else None  # some end first
        lost = Decimal(rng.randrange(1, 10**9)) / 100 if rng.random() < 0.85 else None
        currency = rng.choice(["CNY", "USD", None])
        rows.append({"id": 10_000 + number, "title": f"Case {number}", "summary": "s", "narrative": "",
                     "warning_signs": "", "lessons": "", "status": "published", "visibility": "public",
                     "language": "en", "tags": [], "target_markets": [], "anonymize": False, "ended_on": ended,
                     "started_on": started, "money_lost": lost, "currency": currency if lost is not None else None,
                     "published_at": datetime(2025, 1, 1), "created_at": datetime(2025, 1, 1),
                     "updated_at": datetime(2025, 1, 1)})
        code = cause.code if cause else NONE
        if cause:
            links.append({"case_id": 10_000 + number, "cause_id": cause.id, "is_primary": True})
        if lost is not None:
            money.setdefault((code, currency or "?"), []).append(float(lost))
        if started is not None and ended >= started:
            days.setdefault(code, []).append(float((ended - started).days))
    db.session.execute(insert(FailureCase), rows)
    db.session.execute(insert(CaseCause), links)
    db.session.commit()

    trends = trends_for(cast.admin)

    def expected(groups):
        return sorted(((*key, Spread.of(values)) if isinstance(key, tuple) else (key, Spread.of(values))
                       for key, values in groups.items()), key=lambda row: (-row[-1].n, *row[:-1]))

    def close(spread):
        return Spread(spread.n, *(pytest.approx(value, rel=1e-12) for value in
                                  (spread.median, spread.p25, spread.p75, spread.low, spread.high)))

    assert trends.total == 60  # counted by the cause pass: cases without a primary cause too
    assert len(money) >= 8 and any(spread.n > 4 for *_, spread in expected(money))
    assert [(*key, close(spread)) for *key, spread in expected(money)] == trends.money
    assert [(cause, close(spread)) for cause, spread in expected(days)] == trends.time_to_failure


@pytest.mark.parametrize("who", ["admin", "manager_b"])
def test_managers_and_admins_read_recurrences_from_lists_stored_on_the_first_visit(ctx, cast, make_case, monkeypatch,
                                                                                    who):
    """They may open restricted cases, so their recurrences were thirty live similar searches again after every
    edit (1.5-10 s at 10,000 cases). The new cases' lists of their audience (admins: every published case; a
    park's managers: the public cases and all their park's) are stored on the first visit and read after,
    across index generations, and nobody else reads them."""
    from zhigu.search import neighbours

    earlier = _published(make_case(cast.curator_b, **dict(SOLAR, visibility="private")), datetime(2023, 5, 1))
    again = _published(make_case(cast.author, **dict(SOLAR, title="Solar panel leases for Tashkent factories")),
                       datetime(2024, 6, 1))
    elsewhere = _published(make_case(cast.author, **BAKERY), datetime(2022, 3, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    viewer = reload(getattr(cast, who))
    live = services._live_recurrences(viewer, [reload(again)])

    first = services.recurrences(viewer, params, window)
    assert services.recurrences(reload(cast.manager_a), params, window) == []  # park B's private case
    assert services.recurrences(reload(cast.member_b), params, window) == []
    archive_services.update_case(reload(cast.author), reload(elsewhere), {"lessons": "Ask the bakers first."})
    monkeypatch.setattr(neighbours, "similar_to_case", lambda *a, **k: pytest.fail("searched"))
    kept = services.recurrences(reload(getattr(cast, who)), params, window)

    expected = "all" if who == "admin" else neighbours.manager_audience(cast.manager_b.park_id)
    assert neighbours.audience_of(viewer, read_when_stored=True) == expected
    assert neighbours.audience_of(viewer) is None  # case pages still rank their restricted cases live
    assert [(r["case"].id, r["earlier"].id) for r in first] == [(again.id, earlier.id)]
    assert [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in kept] == \
        [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in first] == \
        [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in live]


@pytest.mark.parametrize("who, change", [("admin", "text"), ("manager_b", "text"), ("manager_b", "visibility")])
def test_a_stored_recurrence_list_is_dropped_when_an_earlier_case_comes_to_resemble_it(ctx, cast, make_case, who,
                                                                                       change):
    """The lists stored on a manager's or an admin's first visit are not computed when a case changes, so a
    case published earlier that now resembles a new case (its text edited, or made visible to the viewer) drops
    the newer cases' lists: the next visit finds the pair, as the live check did."""
    if change == "text":
        earlier = make_case(cast.curator_b, **dict(BAKERY, visibility="private"))
    else:
        earlier = make_case(cast.author, **dict(SOLAR, visibility="private"))  # park A's: not manager B's
    earlier = _published(earlier, datetime(2023, 5, 1))
    new = _published(make_case(cast.curator_b, **dict(SOLAR, title="Solar panel leases for Tashkent factories",
                                                       visibility="private")), datetime(2024, 6, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    assert services.recurrences(reload(getattr(cast, who)), params, window) == []

    if change == "text":
        archive_services.update_case(reload(cast.curator_b), reload(earlier),
                                     {"title": SOLAR["title"], "summary": SOLAR["summary"]})
    else:
        archive_services.update_case(reload(cast.author), reload(earlier), {"visibility": "public"})
    found = services.recurrences(reload(getattr(cast, who)), params, window)

    assert [(r["case"].id, r["earlier"].id) for r in found] == [(new.id, earlier.id)]


@pytest.mark.parametrize("who", ["admin", "manager_b"])
def test_the_worker_computes_again_the_newest_lists_an_edit_made_wrong(ctx, cast, make_case, monkeypatch, who):
    """An edit that may move an earlier case makes the newer cases' lists stored on read wrong. Those of the
    audience's REFILLED_NEWEST newest cases stay marked (pending) and `zhigu worker` computes them first, newest
    first, so the next visit searches for none of them (it computed thirty at 10,000 cases: 3.5-4 s); an older
    case's list is forgotten and computed when read, as before."""
    from zhigu.search import neighbours
    from zhigu.search.models import NeighbourList

    assert neighbours.REFILLED_NEWEST == services.RECURRENCE_CHECKED  # an unfiltered trends page's new cases
    monkeypatch.setattr(neighbours, "REFILLED_NEWEST", 2)
    earlier = _published(make_case(cast.curator_b, **dict(BAKERY, visibility="private")), datetime(2023, 5, 1))
    oldest = _published(make_case(cast.author, **dict(SOLAR, title="Solar roofs for Bukhara schools")),
                        datetime(2024, 2, 1))
    older = _published(make_case(cast.author, **dict(SOLAR, title="Solar kiosks for Samarkand markets")),
                       datetime(2024, 3, 1))
    new = _published(make_case(cast.curator_b, **dict(SOLAR, title="Solar panel leases for Tashkent factories",
                                                       visibility="private")), datetime(2024, 6, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    first = services.recurrences(reload(getattr(cast, who)), params, window)
    assert earlier.id not in [r["earlier"].id for r in first]
    audience = neighbours.audience_of(reload(getattr(cast, who)), read_when_stored=True)

    archive_services.update_case(reload(cast.curator_b), reload(earlier),
                                 {"title": SOLAR["title"], "summary": SOLAR["summary"]})
    marks = dict(db.session.execute(select(NeighbourList.case_id, NeighbourList.pending)
                                    .where(NeighbourList.audience == audience)).all())
    assert marks.get(new.id) and marks.get(older.id) and oldest.id not in marks  # the newest kept, the other not
    assert neighbours.missing()[:2] == [(new.id, audience), (older.id, audience)]  # ahead of every eager list
    neighbours.compute_missing()  # what `zhigu worker` does each poll
    live = services._live_recurrences(reload(getattr(cast, who)), [reload(new), reload(older), reload(oldest)])
    searched = []
    original = neighbours.similar_to_case
    monkeypatch.setattr(neighbours, "similar_to_case", lambda viewer, case, **k: searched.append(case.id)
                        or original(viewer, case, **k))
    found = services.recurrences(reload(getattr(cast, who)), params, window)

    assert searched == [oldest.id]  # only the list the change forgot: read, so computed then
    assert [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in found] == \
        [(r["case"].id, r["earlier"].id, r["score"], r["why"]) for r in live]
    assert (new.id, earlier.id) in [(r["case"].id, r["earlier"].id) for r in found]


@pytest.mark.parametrize("pending_at_drain", [True, False])
def test_without_a_worker_the_process_that_applied_the_edit_computes_the_pending_lists(app, ctx, cast, make_case,
                                                                                      monkeypatch, pending_at_drain):
    """The embedded default runs no `zhigu worker`: the process whose drain left lists pending computes them
    in a background thread (NEIGHBOURS_PENDING_AT_DRAIN), so the next visit searches nothing; with the setting
    off (beside a worker, which computes them itself) the visit does."""
    from zhigu.search import neighbours
    from zhigu.search.models import NeighbourList

    app.config["NEIGHBOURS_PENDING_AT_DRAIN"] = pending_at_drain
    earlier = _published(make_case(cast.curator_b, **dict(BAKERY, visibility="private")), datetime(2023, 5, 1))
    new = _published(make_case(cast.curator_b, **dict(SOLAR, title="Solar panel leases for Tashkent factories",
                                                       visibility="private")), datetime(2024, 6, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    assert services.recurrences(reload(cast.admin), params, window) == []

    archive_services.update_case(reload(cast.curator_b), reload(earlier),
                                 {"title": SOLAR["title"], "summary": SOLAR["summary"]})
    assert neighbours.wait_refilled(60)
    searched = []
    original = neighbours.similar_to_case
    monkeypatch.setattr(neighbours, "similar_to_case", lambda viewer, case, **k: searched.append(case.id)
                        or original(viewer, case, **k))
    found = services.recurrences(reload(cast.admin), params, window)

    assert [(r["case"].id, r["earlier"].id) for r in found] == [(new.id, earlier.id)]
    assert searched == ([] if pending_at_drain else [new.id])
    assert db.session.scalar(select(func.count()).select_from(NeighbourList).where(NeighbourList.pending)) == 0


def test_rows_left_under_a_pending_list_are_never_read(ctx, cast, make_case, monkeypatch):
    """A process may store a list between another's deleting its rows and marking it pending: the rows stay under
    the mark. Trends reads only lists that are not pending, even when storing the list again fails."""
    from sqlalchemy import update
    from sqlalchemy.exc import SQLAlchemyError
    from zhigu.search import neighbours
    from zhigu.search.models import NeighbourList

    _published(make_case(cast.curator_b, **dict(SOLAR, visibility="private")), datetime(2023, 5, 1))
    new = _published(make_case(cast.author, **dict(SOLAR, title="Solar panel leases for Tashkent factories")),
                     datetime(2024, 6, 1))
    params, window = services.parse_params({}), Window(date(2024, 1, 1), date(2024, 12, 31))
    assert len(services.recurrences(reload(cast.admin), params, window)) == 1
    db.session.execute(update(NeighbourList).where(NeighbourList.case_id == new.id).values(pending=True))
    db.session.commit()

    def refuse(*args):
        raise SQLAlchemyError("another process holds the list")
    monkeypatch.setattr(neighbours, "_store", refuse)
    assert services.recurrences(reload(cast.admin), params, window) == []


def test_a_rebuild_keeps_the_lists_stored_on_read_marked_for_the_worker(ctx, cast, make_case):
    """After a rebuild every list is wrong: the eager ones are forgotten (the worker computes them all), those
    stored when trends read them are kept pending, so the worker computes the newest again too."""
    from zhigu.search import neighbours
    from zhigu.search.models import CaseNeighbour, NeighbourList

    _published(make_case(cast.author, **SOLAR), datetime(2023, 5, 1))
    new = _published(make_case(cast.curator_b, **dict(SOLAR, title="Solar panel leases for Tashkent factories",
                                                       visibility="private")), datetime(2024, 6, 1))
    neighbours.compute_missing()
    services.recurrences(reload(cast.admin), services.parse_params({}), Window(date(2024, 1, 1),
                                                                                date(2024, 12, 31)))
    neighbours.drop_all()

    assert db.session.scalar(select(func.count()).select_from(CaseNeighbour)) == 0
    assert db.session.execute(select(NeighbourList.case_id, NeighbourList.audience, NeighbourList.pending)).all() \
        == [(new.id, "all", True)]
    assert neighbours.missing()[0] == (new.id, "all")
