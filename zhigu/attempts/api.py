"""`PATCH /api/v1/initiatives/<id>` (outcome, second_attempt_of) and `POST /api/v1/initiatives/<id>/post-mortem`."""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.archive.services import case_to_dict
from zhigu.attempts import services
from zhigu.initiatives import services as initiative_services


def attempt_fields(initiative) -> dict:
    """What an initiative's JSON says of its outcome history, what it re-attempted and its post-mortem."""
    steps = services.history(initiative)
    post_mortem = services.post_mortem_of(initiative)
    return {
        "outcome": steps[-1].outcome if steps else None,
        "outcome_on": steps[-1].outcome_on.isoformat() if steps else None,
        "outcomes": [{"outcome": s.outcome, "outcome_on": s.outcome_on.isoformat(), "note": s.note,
                      "recorded_at": s.recorded_at.isoformat()} for s in steps],
        "second_attempt_of": [link.earlier_case_id for link in services.attempt_links(initiative)],
        "post_mortem": post_mortem.id if post_mortem else None,
    }


@bp.patch("/initiatives/<int:initiative_id>")
def update_initiative(initiative_id: int):
    from zhigu.api.initiatives import initiative_to_dict

    initiative = initiative_services.get_initiative(current_user, initiative_id)
    services.record_outcome(current_user, initiative, json_body())
    return jsonify(initiative_to_dict(initiative))


@bp.post("/initiatives/<int:initiative_id>/post-mortem")
def post_mortem(initiative_id: int):
    initiative = initiative_services.get_initiative(current_user, initiative_id)
    case = services.create_post_mortem(current_user, initiative, json_body())
    data = case_to_dict(case, current_user)
    data["second_attempt_of"] = [earlier.id for earlier in services.second_attempt_of(case)]
    data["initiative"] = initiative.id
    response = jsonify(data)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_case", case_id=case.id)
    return response

