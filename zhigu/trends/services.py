"""Aggregates of the trends dashboard and of `GET /api/v1/trends`.

Contract:
- Only **published** cases the viewer may open count (`published_visible_clause`, the SQL form of
  `can_view_case`): a manager of park A counts A's private cases, never park B's.
- Scope narrows further: `park` = cases filed in the viewer's park, `region` = cases whose region is the
  given one or lies inside it ("Zhejiang" covers "Zhejiang/Hangzhou"), `all` = everything the viewer may see.
- A case falls in a period by its **failure date**: `ended_on`, or the day it was published when the
  filer gave no end date. The recurrence list is about *newly published* cases, so it uses `published_at`.
- Counts are grouped in SQL. Target markets are a JSON list, which no portable SQL can unnest: they are
  grouped by the stored list and each list's count is split over its markets in Python. Medians have no
  portable SQL either: they read the few columns they need and finish in Python.
- Second attempts (zhigu.attempts.compare_attempts): initiatives whose final outcome (succeeded, failed,
  abandoned) falls in the window, counted only where the viewer may aggregate them (admins: all; managers:
  their park's founders; others: their own), scoped by the founder's park.
- Default window: the most recent whole years (at least two, this one included, up to today) that hold at
  least half of the cases the viewer may see in scope, so the window holds the data and the previous period
  holds most of the rest; the last eight quarters when nothing is in scope. Periods are quarters when the
  window is at most three years long, else years. The previous period of the top-causes comparison is the
  window of the same length that ends the day before `from`; a change of share is only called out when both
  periods count at least MIN_COMPARE_N cases.
- Visitors (the page and its CSV files, not the API) count the cases anyone may open: public ones; the
  park scope needs a log-in.
"""
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from marshmallow import ValidationError
from sqlalchemy import Float, Text, and_, cast, extract, func, or_, select, true
from sqlalchemy.orm import aliased, selectinload

from zhigu.archive.models import CaseCause, Cause, FailureCase, failure_date
from zhigu.attempts.services import compare_attempts
from zhigu.archive.permissions import published_visible_clause
from zhigu.auth.permissions import require
from zhigu.db import now_utc
from zhigu.errors import PermissionDenied
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.search.models import CaseNeighbour, NeighbourList
from zhigu.search.neighbours import audience_of, ensure_computed, live_for
from zhigu.trends.schemas import DIMENSIONS, MAX_YEARS, TrendsQuerySchema

#: A new case and an earlier one count as a recurrence when `similar_to_case` scores the pair at least this.
#: Measured with bench/recurrence_threshold.py over the top 10 of every case: at 0.70, 73% of the pairs kept
#: are judged the same failure on bench/zh_eval (45 pairs; 50% at 0.60, 31% at 0.50) and 90% on the AIID
#: same-actor-same-failure set (10 pairs; 68% at 0.60). (Before the query expansion of "find similar":
#: 77% of 65 pairs and 90% of 10.) A recurrence reads as "this lesson was available and
#: not used", so a wrong pair costs more than a missed one: the threshold favours precision (it keeps ~13%
#: of the judged pairs).
RECURRENCE_THRESHOLD = 0.70
#: ... and they share at least this many distinctive words (`why["terms"]`). Without it a case about a topic
#: nobody else wrote about reaches 0.70 with no shared word at all: its few weak hits get the full rank share
#: (0.3) and the full vote of their common primary cause (0.4). The bench applies the same rule.
RECURRENCE_MIN_TERMS = 3
#: At most this many newly published cases are checked (most recent first): a stored list each, or a similar
#: search each for viewers who may open restricted cases.
RECURRENCE_CHECKED = 30
#: Earlier cases kept per new case.
RECURRENCE_PER_CASE = 3
#: Categories drawn as their own series in the timeline; the rest are summed as "other".
TIMELINE_SERIES = 6
#: How many causes the top-recurring list shows.
TOP_CAUSES = 5
NONE = "(none)"
OTHER = "(other)"
#: The currency of money lost without one.
UNKNOWN_CURRENCY = "?"
QUARTER_MAX_DAYS = 3 * 366
#: A change of share against the previous period is called out only when both periods count at least this
#: many cases: below it one case moves a share by ten points or more, which is noise, not a trend.
MIN_COMPARE_N = 10
#: The default window is the fewest recent whole years (at least DEFAULT_MIN_YEARS) holding this share of the cases.
DEFAULT_SHARE = 0.5
DEFAULT_MIN_YEARS = 2


@dataclass
class Window:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Window":
        end = self.start - timedelta(days=1)
        return Window(end - timedelta(days=self.days - 1), end)


@dataclass
class Spread:
    """Median and spread of a set of numbers; quartiles only from two values up."""

    n: int
    median: float | None = None
    p25: float | None = None
    p75: float | None = None
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        if not values:
            return cls(0)
        values = sorted(values)
        if len(values) == 1:
            return cls(1, values[0], values[0], values[0], values[0], values[0])
        p25, _, p75 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(len(values), statistics.median(values), p25, p75, values[0], values[-1])


@dataclass
class Trends:
    params: dict
    window: Window
    previous: Window
    granularity: str
    total: int
    previous_total: int
    periods: list[str]
    #: {category: {period: count}} for the `by` dimension.
    timeline: dict[str, dict[str, int]]
    #: {dimension: [(category, count)]}, largest first.
    counts: dict[str, list[tuple[str, int]]]
    #: [(cause, currency, Spread)] of money lost.
    money: list[tuple[str, str, Spread]]
    #: [(cause, Spread)] of days from start to end.
    time_to_failure: list[tuple[str, Spread]]
    #: [{"cause", "count", "share", "previous_count", "previous_share", "change"}]
    top_causes: list[dict]
    recurrences: list[dict] = field(default_factory=list)
    #: {"first", "second", "consulted", "not_consulted"} -> Rate of initiatives that ended in the window.
    attempts: dict = field(default_factory=dict)


def parse_params(data) -> dict:
    """Validate the request's filters (a dict of strings); raises ValidationError."""
    return TrendsQuerySchema().load(data)


def default_window(today: date) -> Window:
    """The last eight quarters, the current one included."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year, month = quarter_start.year, quarter_start.month - 21
    while month < 1:
        year, month = year - 1, month + 12
    return Window(date(year, month, 1), today)


def data_window(viewer, params: dict, today: date) -> Window | None:
    """The fewest recent whole years (DEFAULT_MIN_YEARS at least) holding DEFAULT_SHARE of the cases in scope."""
    year = extract("year", failure_date())
    rows = db.session.execute(
        select(year, func.count(FailureCase.id))
        .where(published_visible_clause(viewer), _scope_clause(viewer, params),
               failure_date() < today + timedelta(days=1))
        .group_by(year))
    by_year = Counter({int(y): count for y, count in rows if y is not None})
    total = sum(by_year.values())
    if not total:
        return None
    held = 0
    for years in range(1, MAX_YEARS + 1):
        held += by_year[today.year - years + 1]
        if years >= DEFAULT_MIN_YEARS and held >= DEFAULT_SHARE * total:
            break
    return Window(date(today.year - years + 1, 1, 1), today)


def resolve_window(params: dict, today: date | None = None, viewer=None) -> Window:
    """The window asked for; without `from`, one that holds the viewer's data (data_window) when `viewer` is given."""
    today = today or now_utc().date()
    start, end = params.get("from_"), params.get("to")
    if start and end:
        return Window(start, end)
    if start:
        return Window(start, max(start, today))
    fitted = data_window(viewer, params, end or today) if viewer is not None else None
    if fitted is not None:
        return fitted
    default = default_window(end or today)
    if start:
        return Window(start, max(start, today))
    return Window(default.start, end or default.end)


def period_label(year: int, month: int, granularity: str) -> str:
    return str(year) if granularity == "year" else f"{year}-Q{(month - 1) // 3 + 1}"


def periods_of(window: Window, granularity: str) -> list[str]:
    labels, year, month = [], window.start.year, window.start.month
    while date(year, month, 1) <= window.end:
        label = period_label(year, month, granularity)
        if not labels or labels[-1] != label:
            labels.append(label)
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return labels


def _region(params: dict) -> str:
    return params["region"].strip().strip("/")


def _scope_clause(viewer, params: dict):
    scope = params["scope"]
    if scope == "park":
        if getattr(viewer, "park_id", None) is None:
            raise ValidationError({"scope": [N_("You belong to no park; choose a region or all.")]})
        return FailureCase.park_id == viewer.park_id
    if scope == "region":
        region = _region(params)
        escaped = region.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return or_(FailureCase.region == region, FailureCase.region.like(escaped + "/%", escape="\\"))
    return true()


def _base(viewer, params: dict, window: Window):
    """WHERE clause: visible to the viewer, in scope, failed inside the window."""
    when = failure_date()
    return and_(published_visible_clause(viewer), _scope_clause(viewer, params),
                when >= window.start, when < window.end + timedelta(days=1))


def _primary_link(query):
    """`query` with each case's primary case_cause row, if any (ix_case_cause_trends holds its cause id)."""
    return query.outerjoin(CaseCause, and_(CaseCause.case_id == FailureCase.id, CaseCause.is_primary))


def _primary_join(query):
    return _primary_link(query).outerjoin(Cause, Cause.id == CaseCause.cause_id)


#: Column of each SQL-groupable dimension (market is a JSON list: counted in Python).
def _dimension_column(dimension: str):
    return {"cause": Cause.code, "family": Cause.family, "sector": FailureCase.sector,
            "region": FailureCase.region, "stage": FailureCase.stage_reached}[dimension]


def _grouped(where, dimension: str, *extra) -> list[tuple]:
    """(category, *extra, count) rows for a dimension; markets are unnested in Python."""
    if dimension == "market":
        # Group by the list as stored (few distinct lists), then count each market of each list.
        rows = db.session.execute(markets_query(where, *extra))
        counts: Counter = Counter()
        for markets, *rest, count in rows:
            for market in (json.loads(markets) if markets else None) or [NONE]:
                counts[(market, *rest)] += count
        return [(*key, count) for key, count in counts.items()]
    column = _dimension_column(dimension)
    query = select(column, *extra, func.count(FailureCase.id)).select_from(FailureCase)
    if dimension in CAUSE_DIMENSIONS:  # a case has at most one primary cause: the join adds no row
        query = _primary_join(query)
    return [(_category(category), *rest)
            for category, *rest in db.session.execute(query.where(where).group_by(column, *extra))]


def markets_query(where, *extra):
    """(list of target markets as stored, *extra, count) of the cases in scope: read from the trends index."""
    stored = cast(FailureCase.target_markets, Text)
    return select(stored, *extra, func.count(FailureCase.id)).where(where).group_by(stored, *extra)


def _category(value: str | None) -> str:
    """A grouped value as the charts name it: a case without one counts as NONE."""
    return value if value is not None else NONE


#: Dimensions read from the case's primary cause; the others are columns of the case.
CAUSE_DIMENSIONS = ("cause", "family")
#: Dimensions that are columns of the case, counted together in one pass.
CASE_COLUMNS = ("sector", "region", "stage")


def _counts(where, by: str) -> tuple[dict[str, list[tuple[str, int]]], list[tuple] | None]:
    """(category, count) rows of every dimension, in three passes over the cases in scope, not one each (at
    100,000 cases each pass took 80-130 ms of SQL, bench/README.md); and when the timeline is `by` the cause,
    its family or the market, the timeline's (category, year, month, count) rows, from the same pass (else None)."""
    counts: dict[str, Counter] = {dimension: Counter() for dimension in (*CAUSE_DIMENSIONS, *CASE_COLUMNS)}
    periods = _year_month() if by in CAUSE_DIMENSIONS else ()
    causes = _primary_join(select(Cause.code, Cause.family, *periods, func.count(FailureCase.id))
                           .select_from(FailureCase))
    timeline: Counter = Counter()
    for code, family, *when, count in db.session.execute(causes.where(where)
                                                         .group_by(Cause.code, Cause.family, *periods)):
        code, family = _category(code), _category(family)
        counts["cause"][code] += count
        counts["family"][family] += count
        if periods:
            timeline[(code if by == "cause" else family, *when)] += count
    columns = [_dimension_column(dimension) for dimension in CASE_COLUMNS]
    for *values, count in db.session.execute(select(*columns, func.count(FailureCase.id)).where(where)
                                             .group_by(*columns)):
        for dimension, value in zip(CASE_COLUMNS, values):
            counts[dimension][_category(value)] += count
    rows = {dimension: list(counter.items()) for dimension, counter in counts.items()}
    if by == "market":  # the timeline's pass counts the markets too: each reads every case's list of markets
        timeline_rows = _grouped(where, "market", *_year_month())
        markets: Counter = Counter()
        for market, _, _, count in timeline_rows:
            markets[market] += count
        rows["market"] = list(markets.items())
        return rows, timeline_rows
    rows["market"] = _grouped(where, "market")
    return rows, [(*key, count) for key, count in timeline.items()] if periods else None


def _year_month():
    return extract("year", failure_date()), extract("month", failure_date())


def _ranked(rows) -> list[tuple[str, int]]:
    return sorted(((category, count) for category, count in rows), key=lambda row: (-row[1], row[0]))


def _timeline(rows, granularity: str, periods: list[str]) -> dict[str, dict[str, int]]:
    """The timeline's series from (category, year, month, count) rows."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(periods, 0))
    for category, y, m, count in rows:
        label = period_label(int(y), int(m), granularity)
        if label in table[category]:
            table[category][label] += count
    totals = Counter({category: sum(row.values()) for category, row in table.items()})
    keep = [category for category, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))][:TIMELINE_SERIES]
    result = {category: table[category] for category in keep}
    rest = [category for category in table if category not in keep]
    if rest:
        result[OTHER] = {p: sum(table[c][p] for c in rest) for p in periods}
    return result


def _spreads(where):
    """Money lost by (primary cause, currency) and days to failure by cause, as Spreads, largest groups first."""
    codes = dict(db.session.execute(select(Cause.id, Cause.code)).all())
    if db.session.get_bind().dialect.name == "postgresql":
        money, days = _spreads_by_database(where)
    else:
        money, days = _spreads_from_rows(where)
    money_rows = sorted(((codes.get(cause_id) or NONE, currency, spread) for (cause_id, currency), spread
                         in money.items()), key=lambda r: (-r[2].n, r[0], r[1]))
    day_rows = sorted(((codes.get(cause_id) or NONE, spread) for cause_id, spread in days.items()),
                      key=lambda r: (-r[1].n, r[0]))
    return money_rows, day_rows


def _spreads_from_rows(where):
    """({(cause id, currency): Spread}, {cause id: Spread}) from every case in scope, read as plain numbers: at
    100,000 cases, reading the rows through the ORM, with the money as Decimals, the dates parsed and the cause
    joined, took 1.4 s, half of the trends page."""
    money: dict[tuple, list[float]] = defaultdict(list)
    days: dict[int | None, list[float]] = defaultdict(list)
    for cause_id, lost, currency, span in db.session.connection().execute(spreads_query(where)).all():
        if lost is not None:
            money[(cause_id, currency or UNKNOWN_CURRENCY)].append(lost)
        if span is not None and span >= 0:
            days[cause_id].append(float(span))
    return ({key: Spread.of(values) for key, values in money.items()},
            {key: Spread.of(values) for key, values in days.items()})


def _spreads_by_database(where):
    """`_spreads_from_rows` with PostgreSQL's percentile_cont, the interpolation of statistics.quantiles'
    "inclusive" method: one row per group leaves the database instead of every case in scope (an admin's six-year
    trends page at 100,000 cases: 460-640 ms of the web process's CPU to 170-180, bench/README.md)."""
    scope = spreads_query(where).subquery()
    currency = func.coalesce(func.nullif(scope.c.currency, ""), UNKNOWN_CURRENCY)

    def spread_columns(value):
        return (func.count(value), *(func.percentile_cont(fraction).within_group(value)
                                     for fraction in (0.5, 0.25, 0.75)), func.min(value), func.max(value))

    money = {(cause_id, code): Spread(*numbers) for cause_id, code, *numbers in db.session.execute(
        select(scope.c.cause_id, currency, *spread_columns(scope.c.money))
        .where(scope.c.money.is_not(None)).group_by(scope.c.cause_id, currency))}
    span = cast(scope.c.span, Float)
    days = {cause_id: Spread(*numbers) for cause_id, *numbers in db.session.execute(
        select(scope.c.cause_id, *spread_columns(span)).where(scope.c.span >= 0).group_by(scope.c.cause_id))}
    return money, days


def spreads_query(where):
    """(primary cause id, money lost as a float, currency, days from start to end) of every case in scope: read
    from the trends index (ix_failure_case_trends) and case_cause's (ix_case_cause_trends), not the rows."""
    return _primary_link(select(CaseCause.cause_id, cast(FailureCase.money_lost, Float).label("money"),
                                FailureCase.currency, _days_between(FailureCase.started_on, FailureCase.ended_on)
                                .label("span"))
                         .select_from(FailureCase)).where(where)


def _days_between(start, end):
    """Days from the date `start` to the date `end` in SQL (None when either is missing): PostgreSQL subtracts
    dates; SQLite keeps them as text, so their Julian day numbers are subtracted."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return end - start


def _top_causes(now: list[tuple[str, int]], before: list[tuple[str, int]], total: int, previous_total: int):
    earlier = dict(before)
    rows = []
    for cause, count in [row for row in now if row[0] != NONE][:TOP_CAUSES]:
        share = count / total if total else 0.0
        previous_count = earlier.get(cause, 0)
        previous_share = previous_count / previous_total if previous_total else None
        rows.append({"cause": cause, "count": count, "share": round(share, 4), "previous_count": previous_count,
                     "previous_share": None if previous_share is None else round(previous_share, 4),
                     "change": None if previous_share is None else round(share - previous_share, 4)})
    return rows


def is_recurrence(result) -> bool:
    """Whether a similar-case result resembles its query closely enough to call the pair a recurrence."""
    return result.score >= RECURRENCE_THRESHOLD and len(result.why.get("terms") or ()) >= RECURRENCE_MIN_TERMS


def recurrences(viewer, params: dict, window: Window) -> list[dict]:
    """Newly published cases (in scope and window) that closely resemble a case published before them.

    Read from the stored neighbours (zhigu.search.neighbours) of the viewer's audience (visitors; members who
    may open exactly the public cases and their park's park cases; a park's managers; admins), the new cases'
    lists computed and stored first where missing: the pairs are filtered, joined and ordered in SQL. Each
    edit made an admin's or a manager's page run thirty live similar searches again (1.5-10 s at 10,000 cases,
    bench/README.md). Viewers in no audience (their own private case outside it) are checked with one live
    similar search per new case, which ranks their restricted cases too (kept by the process until the index
    changes: neighbours.live_for).
    """
    where = and_(published_visible_clause(viewer), _scope_clause(viewer, params),
                 FailureCase.published_at >= window.start,
                 FailureCase.published_at < window.end + timedelta(days=1))
    new_cases = list(db.session.scalars(select(FailureCase).where(where)
                                        .options(selectinload(FailureCase.case_causes))
                                        .order_by(FailureCase.published_at.desc(), FailureCase.id.desc())
                                        .limit(RECURRENCE_CHECKED)))
    audience = audience_of(viewer, read_when_stored=True)
    if audience is None:
        return _live_recurrences(viewer, new_cases)
    ensure_computed(new_cases, audience)
    new = aliased(FailureCase)
    rows = db.session.execute(
        select(CaseNeighbour.case_id, FailureCase, CaseNeighbour.score, CaseNeighbour.why)
        .join(new, new.id == CaseNeighbour.case_id).join(FailureCase, FailureCase.id == CaseNeighbour.neighbour_id)
        # a list made pending while another process stored it may keep that process's rows: not read
        .join(NeighbourList, and_(NeighbourList.case_id == CaseNeighbour.case_id,
                                  NeighbourList.audience == CaseNeighbour.audience, ~NeighbourList.pending))
        .where(CaseNeighbour.case_id.in_([case.id for case in new_cases]), CaseNeighbour.audience == audience,
               CaseNeighbour.rank < RECURRENCE_PER_CASE * 3,  # what the live check reads: the 9 nearest
               CaseNeighbour.score >= RECURRENCE_THRESHOLD, CaseNeighbour.shared_terms >= RECURRENCE_MIN_TERMS,
               published_visible_clause(viewer), FailureCase.published_at < new.published_at)
        .order_by(CaseNeighbour.case_id, CaseNeighbour.rank))
    earlier = defaultdict(list)
    for case_id, case, score, why in rows:
        earlier[case_id].append((case, score, why))
    return [{"case": case, "earlier": other, "score": score, "why": why}
            for case in new_cases for other, score, why in earlier[case.id][:RECURRENCE_PER_CASE]]


def _live_recurrences(viewer, new_cases: list[FailureCase]) -> list[dict]:
    found = []
    for case in new_cases:
        earlier = [result for result in live_for(viewer, case, RECURRENCE_PER_CASE * 3)
                   if is_recurrence(result) and result.case.published_at
                   and result.case.published_at < case.published_at]
        for result in earlier[:RECURRENCE_PER_CASE]:
            found.append({"case": case, "earlier": result.case, "score": result.score, "why": result.why})
    return found


def compute_trends(viewer, data, today: date | None = None, with_recurrences: bool = True,
                   visitors: bool = False) -> Trends:
    """Everything the dashboard shows, for the filters in `data` (query-string values).

    `visitors`: a visitor may look too (the page and its CSV files; the API asks for a log-in), counting only
    what anyone may open; the park scope still needs a log-in.
    """
    visitor = visitors and not getattr(viewer, "is_authenticated", False)
    if not visitor:
        require(viewer, "trends.view")
    params = parse_params(data)
    if visitor and params["scope"] == "park":
        raise PermissionDenied(N_("Please log in first."))
    window = resolve_window(params, today, viewer)
    previous = window.previous()
    granularity = "quarter" if window.days <= QUARTER_MAX_DAYS else "year"
    where = _base(viewer, params, window)
    before = _base(viewer, params, previous)
    rows, timeline = _counts(where, params["by"])
    previous_causes = _grouped(before, "cause")
    # the cause passes count every case in scope once (at most one primary cause: uq_case_cause_primary), so
    # their sums are the totals, without two more passes over the cases
    total = sum(count for _, count in rows["cause"])
    previous_total = sum(count for _, count in previous_causes)
    counts = {dimension: _ranked(rows[dimension]) for dimension in DIMENSIONS}
    if timeline is None:
        timeline = _grouped(where, params["by"], *_year_month())
    periods = periods_of(window, granularity)
    money, days = _spreads(where)
    return Trends(
        params=params, window=window, previous=previous, granularity=granularity, total=total,
        previous_total=previous_total, periods=periods,
        timeline=_timeline(timeline, granularity, periods), counts=counts, money=money,
        time_to_failure=days,
        top_causes=_top_causes(counts["cause"], _ranked(previous_causes), total, previous_total),
        recurrences=recurrences(viewer, params, window) if with_recurrences else [],
        attempts=compare_attempts(viewer, window.start, window.end,
                                  park_id=viewer.park_id if params["scope"] == "park" else None,
                                  region=_region(params) if params["scope"] == "region" else None),
    )
