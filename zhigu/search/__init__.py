"""Full-text search and similar-case ranking over a Whoosh index derived from the database."""
from flask import Blueprint

bp = Blueprint("search", __name__)

from zhigu.search import views  # noqa: E402,F401
