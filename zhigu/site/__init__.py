"""The home page."""
from flask import Blueprint

bp = Blueprint("site", __name__)

from zhigu.site import views  # noqa: E402,F401
