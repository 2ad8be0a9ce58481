"""Founders register initiatives and see the past failures most like them."""
from flask import Blueprint

bp = Blueprint("initiatives", __name__)
