"""Review before publishing: curators submit drafts, a manager of the park (or an admin) decides."""
from flask import Blueprint

bp = Blueprint("reviews", __name__)

from zhigu.reviews import api, permissions, views  # noqa: E402,F401
