"""Subscriptions, in-app notifications and e-mail digests."""
from flask import Blueprint

bp = Blueprint("notify", __name__)

from zhigu.notify import views  # noqa: E402,F401
