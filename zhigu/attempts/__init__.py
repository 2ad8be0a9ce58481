"""Second attempts: what became of initiatives (outcome history) and which earlier failures they re-attempted.

Which failures an initiative re-attempted is kept here (SecondAttempt: an initiative is not a case); the
post-mortem a failed initiative becomes is linked `second_attempt_of` those failures with issue 4's typed
case links (zhigu.links.CaseLink).
"""
from flask import Blueprint

bp = Blueprint("attempts", __name__)
