"""Subscriptions and notifications over JSON."""
from flask import jsonify, request, url_for
from flask_login import current_user
from marshmallow import fields

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.notify import inbox, subscriptions
from zhigu.notify.schemas import NotificationOutSchema, ReadSchema, SubscriptionSchema
from zhigu.schemas import OutputSchema


class SubscriptionOutSchema(OutputSchema, SubscriptionSchema):
    """A subscription with what it follows in words (here, not in schemas.py: `describe` is a service)."""

    description = fields.Function(subscriptions.describe, metadata={"type": "string"})


@bp.get("/subscriptions")
@doc(response=SubscriptionOutSchema(many=True), errors=("401",))
def list_subscriptions():
    """What the caller follows."""
    return jsonify(SubscriptionOutSchema(many=True).dump(subscriptions.subscriptions_of(current_user)))


@bp.post("/subscriptions")
@doc(body=SubscriptionSchema, response=SubscriptionOutSchema, status=201)
def create_subscription():
    """Follow a case, cause, sector, market (country code), search (query) or your initiative."""
    sub = subscriptions.subscribe(current_user, json_body())
    return created(SubscriptionOutSchema().dump(sub), url_for("api.list_subscriptions"))


@bp.delete("/subscriptions/<int:subscription_id>")
@doc(status=204, errors=("401", "404"))
def delete_subscription(subscription_id: int):
    """Unfollow."""
    subscriptions.unsubscribe(current_user, subscriptions.get_subscription(current_user, subscription_id))
    return "", 204


@bp.get("/notifications")
@doc(response={"type": "object", "properties": {"results": {"type": "array", "items": NotificationOutSchema},
                                                "unread": {"type": "integer"}}},
     errors=("401",), parameters=[{"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1", "0"]}}])
def list_notifications():
    """The caller's notifications, newest first (about cases they may still see); `?unread=1` for unread ones only."""
    unread = request.args.get("unread") in ("1", "true", "yes")
    items = inbox.notifications_of(current_user, unread_only=unread)
    return jsonify(results=NotificationOutSchema(many=True).dump(items), unread=inbox.unread_count(current_user))


@bp.post("/notifications/read")
@doc(body=ReadSchema, response={"type": "object", "properties": {"marked": {"type": "integer"},
                                                                 "unread": {"type": "integer"}}},
     errors=("400", "401", "422"))
def read_notifications():
    """Mark notifications as read: the given ids, or all when the body is empty or has no ids."""
    body = json_body() if request.content_length else {}
    marked = inbox.mark_read(current_user, body)
    return jsonify(marked=marked, unread=inbox.unread_count(current_user))
