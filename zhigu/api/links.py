"""Typed links and merges over JSON: the same services, schemas and rules as the pages."""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.archive.services import case_to_dict, get_case
from zhigu.links import services


@bp.get("/cases/<int:case_id>/links")
def list_links(case_id: int):
    case = get_case(current_user, case_id)
    return jsonify([services.link_to_dict(link, case.id) for link in services.links_of(current_user, case)])


@bp.post("/cases/<int:case_id>/links")
def create_link(case_id: int):
    link = services.create_link(current_user, get_case(current_user, case_id), json_body())
    response = jsonify(services.link_to_dict(link, case_id))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_links", case_id=case_id)
    return response


@bp.delete("/links/<int:link_id>")
def delete_link(link_id: int):
    services.delete_link(current_user, services.get_link(current_user, link_id))
    return "", 204


@bp.post("/cases/<int:case_id>/merge-into/<int:kept_id>")
def merge_case(case_id: int, kept_id: int):
    """Merge the duplicate `case_id` into `kept_id`; optional body {"reason": "..."}."""
    from flask import request

    body = json_body() if request.content_length else {}
    merge = services.merge_case(current_user, get_case(current_user, case_id), {**body, "kept_id": kept_id})
    data = case_to_dict(merge.kept, current_user)
    data["merged"] = {"duplicate_id": merge.duplicate_id, "kept_id": merge.kept_id,
                      "at": merge.created_at.isoformat()}
    return jsonify(data)
