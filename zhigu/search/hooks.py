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
from sqlalchemy import event, inspect, select

from zhigu.archive.models import CaseCause, Cause, FailureCase
from zhigu.comments.models import Comment
from zhigu.extensions import db
from zhigu.search.catchup import drain_after_commit
from zhigu.search.outbox import forget_lock, record_changes

#: session.info key: this transaction wrote outbox rows.
PENDING = "zhigu.search.outbox_written"


#: Case attributes that only the case's own "find similar" (or nothing of "find similar") reads: the others'
#: queries match titles, summaries, causes, sector and markets, filtered by who may open what, so a change of
#: these alone moves no case in another's list (zhigu.search.neighbours keeps those lists). Its own list, which
#: also reads its warning signs and lessons, is computed again.
OWN_TEXT = frozenset({"narrative", "warning_signs", "lessons", "tags", "money_lost", "currency", "team_size",
                      "org_name", "org_type", "anonymize", "source_url", "started_on", "ended_on", "stage_reached",
                      "region", "external_id", "updated_at", "version", "revisions"})
#: How much of a case a change touched, in increasing order (the most of a flush's changes is kept).
COMMENTS, OWN, ALL = 0, 1, 2


def _changed_cases(session) -> dict[int, int]:
    """Cases whose documents the flush changed, each with how much (COMMENTS: only its comments; OWN: only
    OWN_TEXT; ALL). Cause labels are indexed with each case, but renaming a cause changes no case row: its
    cases are looked up (a new cause has none yet)."""
    changed: dict[int, int] = {}

    def touch(case_id, kind: int) -> None:
        changed[case_id] = max(kind, changed.get(case_id, COMMENTS))

    modified = _modified(session)
    # read once: each read of Session.new or .deleted builds a new identity set of every pending object, so
    # a look-up per case made a 100,000-case import quadratic (it ran for over 20 min without finishing)
    new, deleted = session.new, session.deleted
    for obj in chain(new, modified, deleted):
        if isinstance(obj, Comment):  # a case's document carries its visible comments
            touch(obj.case_id, COMMENTS)
        elif isinstance(obj, FailureCase):
            only_own = obj not in new and obj not in deleted and _only_own_text(obj)
            touch(obj.id, OWN if only_own else ALL)
        elif isinstance(obj, CaseCause):
            touch(obj.case_id, ALL)
    causes = {obj.id for obj in chain(modified, deleted) if isinstance(obj, Cause)}
    if causes:
        for case_id in session.connection().scalars(select(CaseCause.case_id).where(CaseCause.cause_id.in_(causes))):
            touch(case_id, ALL)
    changed.pop(None, None)
    return changed


def _only_own_text(case: FailureCase) -> bool:
    """Whether the flush changed nothing of a case but OWN_TEXT (its attributes' history is still there in
    after_flush)."""
    return all(attribute.key in OWN_TEXT for attribute in inspect(case).attrs if attribute.history.has_changes())


def _modified(session) -> list:
    """The objects of `session.dirty` whose values changed: it also lists those given their own values again (an
    import of an unchanged case, a form saved as it was), which need no new document and keep their nearest
    cases."""
    return [obj for obj in session.dirty if session.is_modified(obj)]


@event.listens_for(db.session, "after_flush")
def collect_changes(session, flush_context):
    changed = _changed_cases(session)
    if changed:
        record_changes(session, changed,
                       comments_only={case_id for case_id, kind in changed.items() if kind == COMMENTS},
                       own_text_only={case_id for case_id, kind in changed.items() if kind == OWN})
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
