"""Review before publishing over JSON: submit, claim, decide, and the queue."""
from flask import jsonify, request
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.archive.services import case_to_dict, get_case
from zhigu.reviews import services


def _case_with_history(case) -> dict:
    data = case_to_dict(case, current_user)
    data["reviews"] = [services.event_to_dict(e) for e in services.history(current_user, case)]
    return data


@bp.post("/cases/<int:case_id>/submit")
def submit_case(case_id: int):
    case = services.submit_case(current_user, get_case(current_user, case_id))
    return jsonify(_case_with_history(case))


@bp.post("/cases/<int:case_id>/claim")
def claim_case(case_id: int):
    case = services.claim_case(current_user, get_case(current_user, case_id))
    return jsonify(_case_with_history(case))


@bp.post("/cases/<int:case_id>/review")
def review_case(case_id: int):
    case = get_case(current_user, case_id)
    case = services.review_case(current_user, case, json_body())
    return jsonify(_case_with_history(case))


@bp.get("/cases/<int:case_id>/reviews")
def case_reviews(case_id: int):
    case = get_case(current_user, case_id)
    return jsonify([services.event_to_dict(e) for e in services.history(current_user, case)])


@bp.get("/reviews")
def review_queue():
    """The queue: cases in review the caller may decide on, longest waiting first."""
    items = services.review_queue(current_user, request.args.to_dict())
    return jsonify(results=[services.queue_item_to_dict(i) for i in items])
