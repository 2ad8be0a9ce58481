"""Keep the Whoosh index in step with *committed* data, durably.

Case ids touched by a flush (the cases themselves, their cause links and comments, and every case of a
renamed or retired cause) are written to the search outbox in the same transaction (zhigu.search.outbox),
so a rollback (or a rolled-back SAVEPOINT) drops them with the change and a commit keeps them. After the
outermost commit the web process applies the outbox to its index if it can take the directory's lock (and
Whoosh's writer lock) within INDEX_INLINE_DRAIN_TIMEOUT seconds; otherwise this process's catch-up thread
retries within seconds (zhigu.search.catchup), and the process holding the lock, or `zhigu worker`, may get
there first. A failed index write is logged, never raised (the database already committed); the rows stay
until applied.
"""
from itertools import chain

from flask import current_app
from sqlalchemy import event, select

from zhigu.archive.models import CaseCause, Cause, FailureCase
from zhigu.comments.models import Comment
from zhigu.extensions import db
from zhigu.search.catchup import drain_after_commit
from zhigu.search.outbox import forget_lock, record_changes

#: session.info key: this transaction wrote outbox rows.
PENDING = "zhigu.search.outbox_written"


def _changed_cases(session) -> dict[int, bool]:
    """Cases whose documents the flush changed, each with whether only its comments did. Cause labels are
    indexed with each case, but renaming a cause changes no case row: its cases are looked up (a new cause
    has none yet)."""
    changed: dict[int, bool] = {}
    modified = _modified(session)
    for obj in chain(session.new, modified, session.deleted):
        if isinstance(obj, Comment):  # a case's document carries its visible comments
            changed.setdefault(obj.case_id, True)
        elif isinstance(obj, (FailureCase, CaseCause)):
            changed[obj.id if isinstance(obj, FailureCase) else obj.case_id] = False
    causes = {obj.id for obj in chain(modified, session.deleted) if isinstance(obj, Cause)}
    if causes:
        changed.update(dict.fromkeys(session.connection().scalars(
            select(CaseCause.case_id).where(CaseCause.cause_id.in_(causes))), False))
    changed.pop(None, None)
    return changed


def _modified(session) -> list:
    """The objects of `session.dirty` whose values changed: it also lists those given their own values again (an
    import of an unchanged case, a form saved as it was), which need no new document and keep their nearest
    cases."""
    return [obj for obj in session.dirty if session.is_modified(obj)]


@event.listens_for(db.session, "after_flush")
def collect_changes(session, flush_context):
    changed = _changed_cases(session)
    if changed:
        record_changes(session, changed, comments_only={case_id for case_id, only in changed.items() if only})
        session.info[PENDING] = True


@event.listens_for(db.session, "after_commit")
def apply_changes(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the real commit comes later
    forget_lock(session)
    if session.info.pop(PENDING, None) and current_app.config["INDEX_INLINE_DRAIN"]:
        drain_after_commit(session.get_bind(), current_app.config["INDEX_INLINE_DRAIN_TIMEOUT"])


@event.listens_for(db.session, "after_soft_rollback")
def discard_changes(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
        forget_lock(session)
