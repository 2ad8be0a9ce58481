"""Subscriptions and notifications over JSON."""
from flask import jsonify, request, url_for
from flask_login import current_user

from zhigu.api import bp, json_body
from zhigu.notify import inbox, subscriptions


@bp.get("/subscriptions")
def list_subscriptions():
    return jsonify([subscriptions.subscription_to_dict(s) for s in subscriptions.subscriptions_of(current_user)])


@bp.post("/subscriptions")
def create_subscription():
    sub = subscriptions.subscribe(current_user, json_body())
    response = jsonify(subscriptions.subscription_to_dict(sub))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_subscriptions")
    return response


@bp.delete("/subscriptions/<int:subscription_id>")
def delete_subscription(subscription_id: int):
    subscriptions.unsubscribe(current_user, subscriptions.get_subscription(current_user, subscription_id))
    return "", 204


@bp.get("/notifications")
def list_notifications():
    """The caller's notifications, newest first; `?unread=1` for unread ones only."""
    unread = request.args.get("unread") in ("1", "true", "yes")
    items = inbox.notifications_of(current_user, unread_only=unread)
    return jsonify(results=[inbox.notification_to_dict(n) for n in items],
                   unread=inbox.unread_count(current_user))


@bp.post("/notifications/read")
def read_notifications():
    """Mark `{"ids": [...]}` as read, or all of the caller's notifications when the body has no ids."""
    body = json_body() if request.content_length else {}
    marked = inbox.mark_read(current_user, body)
    return jsonify(marked=marked, unread=inbox.unread_count(current_user))
