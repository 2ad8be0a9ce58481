"""The numbers behind each chart as (headers, rows): the page's tables and the CSV downloads share them."""
from zhigu.trends.services import Trends

#: Chart names in page order, with their titles.
CHARTS = {
    "timeline": "Failures over time",
    "top_causes": "Top recurring causes against the previous period",
    "cause": "By primary cause",
    "family": "By cause family",
    "sector": "By sector",
    "region": "By region",
    "market": "By target market",
    "stage": "By stage reached",
    "money": "Money lost by primary cause",
    "time_to_failure": "Time to failure by primary cause (days from start to end)",
    "recurrence": "Recurrences: new failures closely resembling earlier ones",
    "attempts": "Second attempts against first attempts; consulting the archive",
}
ATTEMPT_GROUPS = {"first": "first attempts", "second": "second attempts",
                  "consulted": "consulted the archive (marked a suggested case relevant)",
                  "not_consulted": "did not consult the archive"}
DIMENSION_HEADERS = {"cause": "primary cause", "family": "cause family", "sector": "sector", "region": "region",
                     "market": "target market", "stage": "stage reached"}


def _num(value):
    return None if value is None else round(value, 2)


def table(trends: Trends, chart: str) -> tuple[list[str], list[list]]:
    """Headers and rows of one chart, with raw codes (labels are the page's business)."""
    if chart == "timeline":
        return ([DIMENSION_HEADERS[trends.params["by"]], *trends.periods, "total"],
                [[name, *(values[p] for p in trends.periods), sum(values.values())]
                 for name, values in trends.timeline.items()])
    if chart == "top_causes":
        return (["primary cause", "count", "share", "previous count", "previous share", "change (points)"],
                [[r["cause"], r["count"], r["share"], r["previous_count"], r["previous_share"],
                  None if r["change"] is None else round(r["change"] * 100, 1)] for r in trends.top_causes])
    if chart in DIMENSION_HEADERS:
        return [DIMENSION_HEADERS[chart], "count"], [list(row) for row in trends.counts[chart]]
    spread_headers = ["n", "median", "25th percentile", "75th percentile", "min", "max"]
    if chart == "money":
        return (["primary cause", "currency", *spread_headers],
                [[cause, currency, s.n, _num(s.median), _num(s.p25), _num(s.p75), _num(s.low), _num(s.high)]
                 for cause, currency, s in trends.money])
    if chart == "time_to_failure":
        return (["primary cause", *spread_headers],
                [[cause, s.n, _num(s.median), _num(s.p25), _num(s.p75), _num(s.low), _num(s.high)]
                 for cause, s in trends.time_to_failure])
    if chart == "recurrence":
        return (["new case id", "new case", "published", "earlier case id", "earlier case", "earlier published",
                 "similarity"],
                [[r["case"].id, r["case"].title, r["case"].published_at.date().isoformat(), r["earlier"].id,
                  r["earlier"].title, r["earlier"].published_at.date().isoformat(), r["score"]]
                 for r in trends.recurrences])
    if chart == "attempts":
        return (["group", "initiatives ended (n)", "succeeded", "success rate", "median days to outcome",
                 "n (days)"],
                [[ATTEMPT_GROUPS[name], rate.n, rate.succeeded, rate.rate, _num(rate.median_days), rate.days_n]
                 for name, rate in trends.attempts.items()])
    raise KeyError(chart)
