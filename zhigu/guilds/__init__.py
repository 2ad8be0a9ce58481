"""Guild-reviewed red and black lists of organizations, kept apart from the blameless archive."""
from flask import Blueprint

bp = Blueprint("guilds", __name__, cli_group="guild")
