"""The archive of post-mortems: cases, causes, revisions, import and export."""
from flask import Blueprint

bp = Blueprint("archive", __name__)

from zhigu.archive import api, permissions, views  # noqa: E402,F401
