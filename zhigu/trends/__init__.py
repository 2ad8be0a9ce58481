"""Trends: what a park's failures have in common, over time, counted over the cases the viewer may open."""
from flask import Blueprint

bp = Blueprint("trends", __name__)
