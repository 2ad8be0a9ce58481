"""`GET /api/v1/trends`: the dashboard's aggregates as JSON, each with its counts."""
from dataclasses import asdict

from flask import jsonify, request, url_for
from flask_login import current_user

from zhigu.api import bp
from zhigu.trends import services


def _spread(spread) -> dict:
    return {key: (round(value, 2) if isinstance(value, float) else value) for key, value in asdict(spread).items()}


def trends_to_dict(trends) -> dict:
    params = trends.params
    return {
        "scope": params["scope"], "region": params["region"], "by": params["by"],
        "from": trends.window.start.isoformat(), "to": trends.window.end.isoformat(),
        "previous": {"from": trends.previous.start.isoformat(), "to": trends.previous.end.isoformat(),
                     "total": trends.previous_total},
        "granularity": trends.granularity, "total": trends.total, "periods": trends.periods,
        "timeline": [{"value": name, "counts": [values[p] for p in trends.periods], "total": sum(values.values())}
                     for name, values in trends.timeline.items()],
        "counts": {dimension: [{"value": value, "count": count} for value, count in rows]
                   for dimension, rows in trends.counts.items()},
        "money_lost": [dict(cause=cause, currency=currency, **_spread(s)) for cause, currency, s in trends.money],
        "time_to_failure_days": [dict(cause=cause, **_spread(s)) for cause, s in trends.time_to_failure],
        "top_causes": trends.top_causes,
        "recurrences": [{"case": _case(r["case"]), "earlier": _case(r["earlier"]), "score": r["score"]}
                        for r in trends.recurrences],
        "recurrence_threshold": services.RECURRENCE_THRESHOLD,
        "attempts": {name: asdict(rate) for name, rate in trends.attempts.items()},
    }


def _case(case) -> dict:
    return {"id": case.id, "title": case.title, "published_at": case.published_at.isoformat(),
            "url": url_for("archive.detail", case_id=case.id, _external=True)}


@bp.get("/trends")
def trends():
    return jsonify(trends_to_dict(services.compute_trends(current_user, request.args.to_dict())))
