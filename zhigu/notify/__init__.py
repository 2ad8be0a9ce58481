"""Subscriptions, in-app notifications and e-mail digests.

`subscriptions` holds what users follow; `inbox` adds notifications inside other domains' use cases and
lists them to their owner; `scan` matches newly published cases against subscriptions; `digests` mails
the unread ones. Nobody is told about a case they may not see: visibility is checked when a notification
is created, when it is shown and again when a digest is sent.
"""
from flask import Blueprint

bp = Blueprint("notify", __name__)
