"""Review use cases: submit a draft, claim it, approve / request changes / reject, and the queue.

A curator's case goes draft → in_review → published (approved), changes_requested (back to the author, who
edits and submits again) or rejected. Managers of the case's park and admins may also publish directly
(zhigu.archive.services.publish_case, recorded as a "publish" revision); imports are recorded as "import".
"""
from sqlalchemy import select

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.archive.services import check_publishable, lock_case, record_publication
from zhigu.auth.models import Park, Role, User
from zhigu.auth.permissions import can, require
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.notify.inbox import notify
from zhigu.notify.models import NotificationKind
from zhigu.reviews.models import ReviewEvent
from zhigu.reviews.schemas import ReviewDecisionSchema, ReviewQueueSchema

SUBMITTABLE = (CaseStatus.draft, CaseStatus.changes_requested)
DECISION_STATUS = {"approve": CaseStatus.published, "request_changes": CaseStatus.changes_requested,
                   "reject": CaseStatus.rejected}
DECISION_EVENT = {"approve": "approved", "request_changes": "changes_requested", "reject": "rejected"}


def reviewers_of(case: FailureCase) -> list[User]:
    """Managers of the case's park, or the admins when it has no park."""
    query = select(User).where(User.is_active.is_(True))
    if case.park_id:
        query = query.where(User.role == Role.manager, User.park_id == case.park_id)
    else:
        query = query.where(User.role == Role.admin)
    return list(db.session.scalars(query))


def submit_case(actor: User, case: FailureCase) -> FailureCase:
    """Send a draft (or a case sent back for changes) to the park's reviewers."""
    lock_case(case)
    require(actor, "case.submit", case)
    if case.status not in SUBMITTABLE:
        raise ZhiguError(N_("Only a draft or a case sent back for changes can be submitted for review."), 409)
    check_publishable(case)
    case.status = CaseStatus.in_review
    db.session.add(ReviewEvent(case=case, actor=actor, action="submitted"))
    notify(reviewers_of(case), NotificationKind.review_submitted, case, N_("{actor} submitted “{title}” for review."),
           params={"actor": actor.display_name, "title": case.title}, exclude=actor)
    db.session.commit()
    return case


def claim_case(actor: User, case: FailureCase) -> FailureCase:
    """Take a case in review, so that other reviewers see who is on it."""
    lock_case(case)
    require(actor, "case.review", case)
    if case.status != CaseStatus.in_review:
        raise ZhiguError(N_("Only a case in review can be claimed."), 409)
    latest = db.session.scalar(select(ReviewEvent).where(ReviewEvent.case_id == case.id, ReviewEvent.action.in_(
        ("submitted", "claimed"))).order_by(ReviewEvent.id.desc()).limit(1))
    if latest is not None and latest.action == "claimed" and latest.actor_id == actor.id:
        return case  # already theirs
    db.session.add(ReviewEvent(case=case, actor=actor, action="claimed"))
    db.session.commit()
    return case


def review_case(actor: User, case: FailureCase, data: dict) -> FailureCase:
    """Approve (publish), request changes (back to the author) or reject, with a comment.

    The case's row is held from the start (zhigu.archive.services.lock_case), so of two decisions at once
    the second sees the first one's result and is refused (409): one decision, one event, one status.
    """
    lock_case(case)
    require(actor, "case.review", case)
    values = ReviewDecisionSchema().load(data)
    if case.status != CaseStatus.in_review:
        raise ZhiguError(N_("This case is not waiting for review."), 409)
    decision = values["decision"]
    if decision == "approve":
        record_publication(actor, case)
    else:
        case.status = DECISION_STATUS[decision]
    db.session.add(ReviewEvent(case=case, actor=actor, action=DECISION_EVENT[decision], comment=values["comment"]))
    words = {"approve": N_("“{title}” was approved and published by {actor}."),
             "request_changes": N_("“{title}” was sent back for changes by {actor}."),
             "reject": N_("“{title}” was rejected by {actor}.")}
    params = {"title": case.title, "actor": actor.display_name}
    if values["comment"]:
        words = {"approve": N_("“{title}” was approved and published by {actor}: {comment}"),
                 "request_changes": N_("“{title}” was sent back for changes by {actor}: {comment}"),
                 "reject": N_("“{title}” was rejected by {actor}: {comment}")}
        params["comment"] = values["comment"]
    notify([case.author], NotificationKind.review_decision, case, words[decision], params=params, exclude=actor)
    db.session.commit()
    return case


def history(actor, case: FailureCase) -> list[ReviewEvent]:
    """The review trail, oldest first; for the author, the park's managers and admins."""
    if not can(actor, "case.review_history", case):
        return []
    return list(db.session.scalars(select(ReviewEvent).where(ReviewEvent.case_id == case.id)
                                   .order_by(ReviewEvent.created_at, ReviewEvent.id)))


class QueueItem:
    def __init__(self, case: FailureCase, submitted: ReviewEvent | None, claim: ReviewEvent | None):
        self.case, self.submitted, self.claim = case, submitted, claim

    @property
    def claimed_by(self) -> User | None:
        return self.claim.actor if self.claim else None


def review_queue(actor: User, args: dict | None = None) -> list[QueueItem]:
    """Cases in review the actor may decide on, longest waiting first, filtered by claim, park and title."""
    require(actor, "review.queue")
    filters = ReviewQueueSchema().load(args or {})
    query = select(FailureCase).where(FailureCase.status == CaseStatus.in_review)
    if actor.role != Role.admin:
        query = query.where(FailureCase.park_id == actor.park_id)
    elif filters["park"]:
        query = query.join(Park, Park.id == FailureCase.park_id).where(Park.slug == filters["park"])
    if filters["q"]:
        query = query.where(FailureCase.title.ilike(f"%{filters['q']}%"))
    items = []
    for case in db.session.scalars(query):
        if not can(actor, "case.review", case):
            continue
        events = db.session.scalars(select(ReviewEvent).where(ReviewEvent.case_id == case.id)
                                    .order_by(ReviewEvent.id.desc())).all()
        submitted = next((e for e in events if e.action == "submitted"), None)
        claim = next((e for e in events if e.action == "claimed" and (submitted is None or e.id > submitted.id)), None)
        item = QueueItem(case, submitted, claim)
        claimed_id = item.claimed_by.id if item.claimed_by else None
        if ((filters["claimed"] == "me" and claimed_id != actor.id)
                or (filters["claimed"] == "unclaimed" and claimed_id is not None)
                or (filters["claimed"] == "others" and claimed_id in (None, actor.id))):
            continue
        items.append(item)
    items.sort(key=lambda i: (i.submitted.created_at if i.submitted else i.case.updated_at).replace(tzinfo=None))
    return items
