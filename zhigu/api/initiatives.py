"""Find similar failures, register initiatives and record verdicts over JSON."""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.initiatives import services
from zhigu.initiatives.schemas import InitiativeSchema


def similar_to_dict(case, score, why) -> dict:
    return {"id": case.id, "external_id": case.external_id, "title": case.title, "summary": case.summary,
            "url": url_for("archive.detail", case_id=case.id, _external=True), "score": score, "why": why}


def initiative_to_dict(initiative) -> dict:
    data = InitiativeSchema().dump(initiative)
    data["url"] = url_for("initiatives.detail", initiative_id=initiative.id, _external=True)
    data["similar"] = [dict(similar_to_dict(s.case, s.score, s.why), rank=s.rank, verdict=s.verdict, note=s.note)
                       for s in services.visible_suggestions(current_user, initiative)]
    from zhigu.attempts.api import attempt_fields  # outcome history and second_attempt_of (zhigu.attempts)
    data.update(attempt_fields(initiative))
    return data


@bp.post("/similar")
def similar():
    results = services.find_similar(current_user, json_body())
    return jsonify(results=[similar_to_dict(r.case, r.score, r.why) for r in results])


@bp.post("/initiatives")
def register_initiative():
    initiative = services.register_initiative(current_user, json_body())
    response = jsonify(initiative_to_dict(initiative))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_initiative", initiative_id=initiative.id)
    return response


@bp.get("/initiatives/<int:initiative_id>")
def get_initiative(initiative_id: int):
    return jsonify(initiative_to_dict(services.get_initiative(current_user, initiative_id)))


@bp.post("/initiatives/<int:initiative_id>/feedback")
def feedback(initiative_id: int):
    initiative = services.get_initiative(current_user, initiative_id)
    suggestion = services.record_feedback(current_user, initiative, json_body())
    return jsonify(case_id=suggestion.case_id, verdict=suggestion.verdict, note=suggestion.note,
                   verdict_at=suggestion.verdict_at.isoformat())
