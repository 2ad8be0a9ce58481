"""Review before publishing: curators submit drafts, a manager of the park (or an admin) decides."""
from flask import Blueprint

bp = Blueprint("reviews", __name__)
