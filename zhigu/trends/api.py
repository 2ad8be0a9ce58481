"""`GET /api/v1/trends`: the dashboard's aggregates as JSON, each with its counts."""
from dataclasses import asdict

from flask import jsonify, request
from flask_login import current_user
from marshmallow import fields

from zhigu.api import bp
from zhigu.api.openapi import doc
from zhigu.archive.schemas import CaseRefOutSchema
from zhigu.schemas import OutputSchema
from zhigu.trends import services
from zhigu.trends.schemas import DIMENSIONS, SCOPES

COUNTS = {"type": "array", "items": {"type": "object", "properties": {
    "value": {"type": "string"}, "count": {"type": "integer"}}}}
SPREAD = {"n": {"type": "integer"}, **{k: {"type": "number", "nullable": True}
                                       for k in ("median", "p25", "p75", "low", "high")}}
PARAMETERS = [
    {"name": "scope", "in": "query", "schema": {"type": "string", "enum": list(SCOPES), "default": "all"},
     "description": "park: the caller's park; region: the `region` parameter; all: every case the caller "
                    "may open. Only published cases the caller may open ever count."},
    {"name": "region", "in": "query", "schema": {"type": "string"},
     "description": "Province or Province/City; required with scope=region"},
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "by", "in": "query", "schema": {"type": "string", "enum": list(DIMENSIONS), "default": "cause"},
     "description": "Dimension of the timeline"},
]


def _spread(spread) -> dict:
    return {key: (round(value, 2) if isinstance(value, float) else value) for key, value in asdict(spread).items()}


class RecurrentCaseOutSchema(CaseRefOutSchema):
    published_at = fields.DateTime()


class TrendsOutSchema(OutputSchema):
    """The aggregates of services.compute_trends (here, not in schemas.py: it reads the services' threshold)."""

    scope = fields.Str(attribute="params.scope")
    region = fields.Str(attribute="params.region", allow_none=True)
    by = fields.Str(attribute="params.by")
    from_ = fields.Date(attribute="window.start", data_key="from")
    to = fields.Date(attribute="window.end")
    previous = fields.Function(lambda t: {"from": t.previous.start.isoformat(), "to": t.previous.end.isoformat(),
                                          "total": t.previous_total}, metadata={"type": "object"})
    granularity = fields.Str(metadata={"enum": ["quarter", "year"]})
    total = fields.Int()
    periods = fields.List(fields.Str())
    timeline = fields.Function(lambda t: [
        {"value": name, "counts": [values[p] for p in t.periods], "total": sum(values.values())}
        for name, values in t.timeline.items()], metadata={"type": "array", "items": {"type": "object", "properties": {
            "value": {"type": "string"}, "counts": {"type": "array", "items": {"type": "integer"}},
            "total": {"type": "integer"}}}})
    counts = fields.Function(lambda t: {dimension: [{"value": value, "count": count} for value, count in rows]
                                        for dimension, rows in t.counts.items()},
                             metadata={"type": "object", "properties": {d: COUNTS for d in DIMENSIONS}})
    money_lost = fields.Function(
        lambda t: [dict(cause=cause, currency=currency, **_spread(s)) for cause, currency, s in t.money],
        metadata={"type": "array", "items": {"type": "object", "properties": {
            "cause": {"type": "string"}, "currency": {"type": "string"}, **SPREAD}}})
    time_to_failure_days = fields.Function(
        lambda t: [dict(cause=cause, **_spread(s)) for cause, s in t.time_to_failure],
        metadata={"type": "array", "items": {"type": "object", "properties": {"cause": {"type": "string"}, **SPREAD}}})
    top_causes = fields.List(fields.Dict())
    recurrences = fields.Function(lambda t: [
        {"case": RecurrentCaseOutSchema().dump(r["case"]), "earlier": RecurrentCaseOutSchema().dump(r["earlier"]),
         "score": r["score"]} for r in t.recurrences], metadata={"type": "array", "items": {"type": "object"}})
    recurrence_threshold = fields.Function(lambda t: services.RECURRENCE_THRESHOLD, metadata={"type": "number"})
    attempts = fields.Function(lambda t: {name: asdict(rate) for name, rate in t.attempts.items()},
                               metadata={"type": "object"})


@bp.get("/trends")
@doc(response=TrendsOutSchema, errors=("401", "422"), parameters=PARAMETERS)
def trends():
    """Failure trends over the cases the caller may open: counts by cause, family, sector, region, market and
    stage, over time; money lost and time to failure by cause; top causes against the previous period;
    recurrences. Without a log-in, over the public cases (scope=park answers 401), as the trends page."""
    return jsonify(TrendsOutSchema().dump(services.compute_trends(current_user, request.args.to_dict(),
                                                                  visitors=True)))
