"""Comments on cases: markdown, one level of replies, edit/delete your own, managers hide with a reason."""
from flask import Blueprint

bp = Blueprint("comments", __name__)

from zhigu.comments import api, permissions, views  # noqa: E402,F401
