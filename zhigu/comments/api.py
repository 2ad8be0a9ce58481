"""Comments over JSON: the same services, schemas and rules as the pages."""
from flask import jsonify, url_for
from flask_login import current_user

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.archive.services import get_case
from zhigu.comments import services
from zhigu.comments.schemas import CommentEditSchema, CommentOutSchema, CommentSchema, HideSchema
from zhigu.schemas import dump_for


def dump_comment(comment) -> dict:
    return dump_for(current_user, CommentOutSchema(), comment)


@bp.get("/cases/<int:case_id>/comments")
@doc(response=CommentOutSchema(many=True), errors=("401", "404"))
def list_comments(case_id: int):
    """A case's comments, oldest first, each with its replies; deleted and hidden ones keep their place without
    their text."""
    comments = services.list_comments(current_user, get_case(current_user, case_id))
    return jsonify(dump_for(current_user, CommentOutSchema(many=True), comments))


@bp.post("/cases/<int:case_id>/comments")
@doc(body=CommentSchema, response=CommentOutSchema, status=201)
def create_comment(case_id: int):
    """Comment on a case, or reply to a top-level comment (parent_id)."""
    comment = services.create_comment(current_user, get_case(current_user, case_id), json_body())
    return created(dump_comment(comment),
                   url_for("api.list_comments", case_id=case_id, _anchor=f"comment-{comment.id}"))


@bp.patch("/comments/<int:comment_id>")
@doc(body=CommentEditSchema, response=CommentOutSchema)
def update_comment(comment_id: int):
    """Edit your comment."""
    comment = services.get_comment(current_user, comment_id)
    return jsonify(dump_comment(services.update_comment(current_user, comment, json_body())))


@bp.delete("/comments/<int:comment_id>")
@doc(response=CommentOutSchema, errors=("401", "403", "404"))
def delete_comment(comment_id: int):
    """Delete your comment (a marker stays in the thread)."""
    return jsonify(dump_comment(services.delete_comment(current_user, services.get_comment(current_user, comment_id))))


@bp.post("/comments/<int:comment_id>/hide")
@doc(body=HideSchema, response=CommentOutSchema)
def hide_comment(comment_id: int):
    """Hide a comment with a reason (managers of the park, admins)."""
    comment = services.get_comment(current_user, comment_id)
    return jsonify(dump_comment(services.hide_comment(current_user, comment, json_body())))


@bp.post("/comments/<int:comment_id>/unhide")
@doc(response=CommentOutSchema, errors=("401", "403", "404"))
def unhide_comment(comment_id: int):
    """Show a hidden comment again (managers of the park, admins); recorded."""
    comment = services.get_comment(current_user, comment_id)
    return jsonify(dump_comment(services.unhide_comment(current_user, comment)))
