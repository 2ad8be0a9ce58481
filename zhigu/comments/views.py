"""Comment pages: add (or reply), edit, delete, hide. The thread itself is on the case page."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.services import get_case
from zhigu.audit.services import case_audit
from zhigu.auth.permissions import can, require
from zhigu.comments import bp, services
from zhigu.comments.schemas import CommentEditSchema, CommentSchema, HideSchema
from zhigu.forms import form_data, render_form
from zhigu.views import flash_errors


@bp.app_template_global()
def case_comments(case):
    """The comment thread of `case`, for the case page."""
    return services.list_comments(current_user, case) if can(current_user, "case.view", case) else []


@bp.app_template_global()
def audit_trail(case):
    """Deletes, hides and merges of `case`, for its park's managers and admins; empty for others."""
    return case_audit(current_user, case) if can(current_user, "case.audit", case) else []


def _anchor(comment) -> str:
    return url_for("archive.detail", case_id=comment.case_id, _anchor=f"comment-{comment.id}")


def _back_to_comment(comment_id: int) -> str:
    """Where a comment action that failed goes back to: the comment on its case's page."""
    return _anchor(services.get_comment(current_user, comment_id))


@bp.route("/cases/<int:case_id>/comments", methods=["GET", "POST"])
@login_required
def create(case_id: int):
    case = get_case(current_user, case_id)
    require(current_user, "comment.create", case)
    if request.method == "POST":
        try:
            comment = services.create_comment(current_user, case, form_data(CommentSchema()))
        except ValidationError as err:
            return render_form("comments/form.html", err, case=case, comment=None)
        flash(_("Your comment was added."), "success")
        return redirect(_anchor(comment))
    return render_form("comments/form.html", case=case, comment=None)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    require(current_user, "comment.edit", comment)
    if request.method == "POST":
        try:
            services.update_comment(current_user, comment, form_data(CommentEditSchema()))
        except ValidationError as err:
            return render_form("comments/form.html", err, case=comment.case, comment=comment)
        flash(_("Your comment was saved."), "success")
        return redirect(_anchor(comment))
    return render_form("comments/form.html", case=comment.case, comment=comment)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
@flash_errors(to=_back_to_comment)
def delete(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    services.delete_comment(current_user, comment)
    flash(_("The comment was deleted."), "success")
    return redirect(_anchor(comment))


@bp.route("/comments/<int:comment_id>/hide", methods=["GET", "POST"])
@login_required
@flash_errors(to=_back_to_comment)
def hide(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    require(current_user, "comment.hide", comment)
    if request.method == "POST":
        try:
            services.hide_comment(current_user, comment, form_data(HideSchema()))
        except ValidationError as err:
            return render_form("comments/hide.html", err, comment=comment)
        flash(_("The comment was hidden."), "success")
        return redirect(_anchor(comment))
    return render_form("comments/hide.html", comment=comment)


@bp.post("/comments/<int:comment_id>/unhide")
@login_required
@flash_errors(to=_back_to_comment)
def unhide(comment_id: int):
    comment = services.get_comment(current_user, comment_id)
    services.unhide_comment(current_user, comment)
    flash(_("The comment is shown again."), "success")
    return redirect(_anchor(comment))
