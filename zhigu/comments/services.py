"""Comment use cases: list, create (or reply), edit and delete your own, hide (managers).

Each use case commits once; the search hooks reindex the comment's case, whose document carries the text
of its visible comments (zhigu.search.documents), so comments are found only where the case may be seen.
"""
from marshmallow import ValidationError
from sqlalchemy import select

from zhigu.audit.services import record
from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.comments.models import Comment
from zhigu.comments.schemas import CommentEditSchema, CommentSchema, HideSchema
from zhigu.db import now_utc
from zhigu.errors import NotFound, ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.locking import lock_row
from zhigu.notify.inbox import notify_case_subscribers
from zhigu.notify.models import NotificationKind
from zhigu.trimming import Shown, trims
from zhigu.visibility import get_visible


def list_comments(actor, case) -> list[Comment]:
    """Top-level comments of a case the actor may see, oldest first; replies hang off `.replies`."""
    require(actor, "case.view", case)
    return list(db.session.scalars(select(Comment).where(Comment.case_id == case.id, Comment.parent_id.is_(None))
                                   .order_by(Comment.id)))


@trims(Comment)
def shown_comment(viewer, comment: Comment) -> Shown:
    """A comment for the API: a deleted one without its text, a hidden one with its text only for those who may
    hide comments; its replies alike."""
    hidden = comment.is_deleted or (comment.is_hidden and not can(viewer, "comment.hide", comment))
    return Shown(comment, body=None if hidden else comment.body,
                 replies=[shown_comment(viewer, reply) for reply in comment.replies] if comment.parent_id is None else [])


def get_comment(actor, comment_id: int) -> Comment:
    """Load a comment whose case the actor may see; 404 otherwise."""
    return get_visible(actor, Comment, comment_id, "case.view", on=lambda c: (c.case,),
                       message=N_("No such comment."))


def create_comment(actor: User, case, data: dict) -> Comment:
    require(actor, "comment.create", case)
    values = CommentSchema().load(data)
    parent = None
    if values["parent_id"] is not None:
        parent = db.session.get(Comment, values["parent_id"])
        if parent is None or parent.case_id != case.id:
            raise ValidationError({"parent_id": [N_("Reply to a comment of this case.")]})
        if parent.parent_id is not None:
            raise ValidationError({"parent_id": [N_("Replies go one level deep: reply to the first comment.")]})
    comment = Comment(case=case, author=actor, parent=parent, body=values["body"])
    db.session.add(comment)
    also = [case.author] + ([parent.author] if parent else [])
    notify_case_subscribers(case, NotificationKind.comment, N_("{actor} commented on “{title}”."),
                            params={"actor": actor.display_name, "title": case.title}, exclude=actor, also=also)
    db.session.commit()
    return comment


def update_comment(actor: User, comment: Comment, data: dict) -> Comment:
    require(actor, "comment.edit", comment)
    values = CommentEditSchema().load(data)
    if values["body"] != comment.body:
        comment.body = values["body"]
        comment.edited_at = now_utc()
    db.session.commit()
    return comment


def delete_comment(actor: User, comment: Comment) -> Comment:
    """Mark a comment deleted: the thread shows a marker; the text stays in the audit trail.

    The comment's row is held first (zhigu.locking): of two deletes at once, the second finds it deleted (409)
    and records nothing.
    """
    _lock(comment)
    require(actor, "comment.delete", comment)
    if comment.is_deleted:
        raise ZhiguError(N_("This comment is already deleted."), 409)
    comment.deleted_at = now_utc()
    record(actor, "comment.delete", comment.case_id, comment_id=comment.id, body=comment.body,
           author=comment.author.display_name if comment.author else None)
    db.session.commit()
    return comment


def hide_comment(actor: User, comment: Comment, data: dict) -> Comment:
    """Hide a comment from readers, with a reason they see; the park's managers still read it."""
    _lock(comment)
    require(actor, "comment.hide", comment)
    values = HideSchema().load(data)
    if comment.is_hidden:
        raise ZhiguError(N_("This comment is already hidden."), 409)
    comment.hidden_at = now_utc()
    comment.hidden_by = actor
    comment.hidden_reason = values["reason"]
    record(actor, "comment.hide", comment.case_id, values["reason"], comment_id=comment.id, body=comment.body,
           author=comment.author.display_name if comment.author else None)
    db.session.commit()
    return comment


def unhide_comment(actor: User, comment: Comment) -> Comment:
    """Show a hidden comment again; the hiding stays in the audit trail."""
    _lock(comment)
    require(actor, "comment.hide", comment)
    if not comment.is_hidden:
        raise ZhiguError(N_("This comment is not hidden."), 409)
    record(actor, "comment.unhide", comment.case_id, comment.hidden_reason, comment_id=comment.id)
    comment.hidden_at = None
    comment.hidden_by = None
    comment.hidden_reason = None
    db.session.commit()
    return comment


def _lock(comment: Comment) -> None:
    """Hold the comment's row until the commit and read it afresh, so its state is checked as committed."""
    if not lock_row(db.session, comment):
        raise NotFound(N_("No such comment."))
