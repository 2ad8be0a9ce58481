"""Comments on cases: markdown, one level of replies, edit/delete your own, managers hide with a reason."""
from flask import Blueprint

bp = Blueprint("comments", __name__)
