"""Keep the Whoosh index in step with *committed* data.

Case ids touched by a flush are collected on the session; after the outermost commit they are re-read in
a fresh session and written to the index; a rollback drops them. A failed index write is logged, never
raised (the database already committed), and `zhigu search check` / `rebuild` repair it.
"""
from itertools import chain

from flask import current_app
from sqlalchemy import event

from zhigu.archive.models import CaseCause, FailureCase
from zhigu.comments.models import Comment
from zhigu.extensions import db

PENDING = "zhigu.search.pending_case_ids"


def _case_id(obj) -> int | None:
    if isinstance(obj, FailureCase):
        return obj.id
    if isinstance(obj, (CaseCause, Comment)):  # a case's document carries its visible comments
        return obj.case_id
    return None


@event.listens_for(db.session, "after_flush")
def collect_changes(session, flush_context):
    ids = session.info.setdefault(PENDING, set())
    ids.update(i for i in map(_case_id, chain(session.new, session.dirty, session.deleted)) if i is not None)


@event.listens_for(db.session, "after_commit")
def apply_changes(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the real commit comes later
    if ids := session.info.pop(PENDING, None):
        current_app.extensions["zhigu.search"].update_cases(ids, bind=session.get_bind())


@event.listens_for(db.session, "after_soft_rollback")
def discard_changes(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
