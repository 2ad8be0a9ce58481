"""Typed links between cases (same root cause, second attempt, duplicate, contradicts, related) and merges."""
from flask import Blueprint

bp = Blueprint("links", __name__)
