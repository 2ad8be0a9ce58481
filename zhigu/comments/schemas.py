"""CommentSchema: the comment forms and `/api/v1/.../comments` alike; HideSchema for moderation."""
from marshmallow import fields, post_dump, validate

from zhigu.schemas import BaseSchema, DbInt, OutputSchema
from zhigu.i18n import N_


class CommentSchema(BaseSchema):
    id = fields.Int(dump_only=True)
    case_id = fields.Int(dump_only=True)
    body = fields.Str(required=True, validate=validate.Length(min=1, max=10_000,
                                                              error=N_("Write a comment of {min} to {max} characters.")))
    parent_id = DbInt(load_default=None, allow_none=True,
                           metadata={"description": "A top-level comment of the same case to reply to."})
    author = fields.Function(lambda c: c.author.display_name if c.author else None, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True)
    deleted = fields.Function(lambda c: c.is_deleted, dump_only=True)
    hidden = fields.Function(lambda c: c.is_hidden, dump_only=True)


class CommentEditSchema(BaseSchema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=10_000,
                                                              error=N_("Write a comment of {min} to {max} characters.")))


class HideSchema(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=3, max=2000))


class CommentOutSchema(OutputSchema, CommentSchema):
    """A comment as the API answers it; deleted and hidden ones keep their place without their text.

    A hidden comment's text is for those who may hide comments (everyone reads why it was hidden: comments.
    services.shown_comment); `replies` is on top-level comments only.
    """

    body = fields.Str(allow_none=True)
    parent_id = fields.Int(allow_none=True)
    hidden_reason = fields.Str(metadata={"description": "Only on hidden comments."})
    replies = fields.List(fields.Nested(lambda: CommentOutSchema()))

    @post_dump(pass_original=True)
    def keep_shape(self, data, comment, **kwargs):
        if comment.is_deleted or not comment.is_hidden:
            data.pop("hidden_reason", None)
        if comment.parent_id is not None:
            data.pop("replies", None)
        return data
