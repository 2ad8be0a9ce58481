"""The archive of post-mortems: cases, causes, revisions, import and export."""
from flask import Blueprint

bp = Blueprint("archive", __name__)
