"""Comments over JSON: the same services, schemas and rules as the pages."""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.archive.services import get_case
from zhigu.comments import services


@bp.get("/cases/<int:case_id>/comments")
def list_comments(case_id: int):
    case = get_case(current_user, case_id)
    return jsonify([services.comment_to_dict(c, current_user) for c in services.list_comments(current_user, case)])


@bp.post("/cases/<int:case_id>/comments")
def create_comment(case_id: int):
    comment = services.create_comment(current_user, get_case(current_user, case_id), json_body())
    response = jsonify(services.comment_to_dict(comment, current_user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_comments", case_id=case_id, _anchor=f"comment-{comment.id}")
    return response


@bp.patch("/comments/<int:comment_id>")
def update_comment(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    return jsonify(services.comment_to_dict(services.update_comment(current_user, comment, json_body()),
                                            current_user))


@bp.delete("/comments/<int:comment_id>")
def delete_comment(comment_id: int):
    comment = services.delete_comment(current_user, services.get_comment(current_user, comment_id))
    return jsonify(services.comment_to_dict(comment, current_user))


@bp.post("/comments/<int:comment_id>/hide")
def hide_comment(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    return jsonify(services.comment_to_dict(services.hide_comment(current_user, comment, json_body()),
                                            current_user))


@bp.post("/comments/<int:comment_id>/unhide")
def unhide_comment(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    return jsonify(services.comment_to_dict(services.unhide_comment(current_user, comment), current_user))
