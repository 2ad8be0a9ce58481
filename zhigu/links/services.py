"""Link use cases: list a case's links, add one, remove one, and merge a duplicate into the kept case.

Nobody sees, adds or is told about a link to a case they may not see. Removing a link and merging keep an
audit record (zhigu.audit). A merge moves the duplicate's comments, links and subscriptions to the kept
case, retracts the duplicate (its row and text stay) and makes its URL redirect to the kept case.
"""
from marshmallow import ValidationError
from sqlalchemy import and_, func, or_, select

from zhigu.archive.models import UNPUBLISHED_STATUSES, CaseRevision, CaseStatus, FailureCase, Visibility
from zhigu.audit.services import record
from zhigu.auth.models import User
from zhigu.auth.permissions import can, require
from zhigu.comments.models import Comment
from zhigu.db import now_utc
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.links.models import LINK_TYPES, CaseLink, CaseMerge
from zhigu.links.schemas import CaseLinkSchema, MergeSchema
from zhigu.locking import lock_row
from zhigu.notify.inbox import notify_case_subscribers
from zhigu.notify.messages import case_ref, term
from zhigu.notify.models import NotificationKind, Subscription
from zhigu.visibility import get_visible


def links_of(actor, case: FailureCase) -> list[CaseLink]:
    """Links of `case` whose other case the actor may see, oldest first."""
    require(actor, "case.view", case)
    links = db.session.scalars(select(CaseLink).where(or_(CaseLink.source_id == case.id,
                                                          CaseLink.target_id == case.id)).order_by(CaseLink.id))
    return [link for link in links if can(actor, "case.view", link.other(case.id))]


def _pair_taken(a: int, b: int, type_: str) -> bool:
    return db.session.scalar(select(CaseLink.id).where(CaseLink.type == type_, or_(
        and_(CaseLink.source_id == a, CaseLink.target_id == b),
        and_(CaseLink.source_id == b, CaseLink.target_id == a)))) is not None


def create_link(actor: User, case: FailureCase, data: dict) -> CaseLink:
    """Link `case` to another the actor may see: no self-links, one link of a type per pair."""
    require(actor, "link.create", case)
    values = CaseLinkSchema().load(data)
    target = db.session.get(FailureCase, values["target_id"])
    if target is None or not can(actor, "case.view", target):
        raise ValidationError({"target_id": [N_("No such case.")]})
    if target.id == case.id:
        raise ValidationError({"target_id": [N_("A case cannot be linked to itself.")]})
    if _pair_taken(case.id, target.id, values["type"]):
        raise ValidationError({"type": [N_("These two cases already have a link of this type.")]})
    link = CaseLink(source=case, target=target, type=values["type"], note=values["note"].strip(), author=actor)
    db.session.add(link)
    for side in (case, target):
        notify_case_subscribers(side, NotificationKind.link, N_("{actor} linked “{source}” ({type}) “{target}”."),
                                params={"actor": actor.display_name, "source": case_ref(case),
                                        "type": term(LINK_TYPES[link.type][0]), "target": case_ref(target)},
                                exclude=actor)
    db.session.commit()
    return link


def get_link(actor, link_id: int) -> CaseLink:
    """Load a link whose two cases the actor may see; the same 404 when it does not exist or is hidden."""
    return get_visible(actor, CaseLink, link_id, "case.view", on=lambda link: (link.source, link.target),
                       message=N_("No such link."))


def delete_link(actor: User, link: CaseLink, reason: str | None = None) -> None:
    require(actor, "link.delete", link)
    for case_id in (link.source_id, link.target_id):
        record(actor, "link.delete", case_id, reason, link_id=link.id, type=link.type, source_id=link.source_id,
               target_id=link.target_id, note=link.note,
               summary=f"{link.source.title} {LINK_TYPES[link.type][0]} {link.target.title}")
    db.session.delete(link)
    db.session.commit()


def merged_into(case_id: int) -> int | None:
    """The id of the case `case_id` was merged into, following merges of merges."""
    seen = set()
    kept = None
    while case_id not in seen:
        seen.add(case_id)
        target = db.session.scalar(select(CaseMerge.kept_id).where(CaseMerge.duplicate_id == case_id))
        if target is None:
            return kept
        kept = case_id = target
    return kept


def merge_candidates(actor: User, duplicate: FailureCase, cases) -> list[FailureCase]:
    """The cases among `cases` (suggestions, search results) the actor could keep when merging `duplicate`:
    other cases they may edit that were not merged themselves, each once, in the given order.

    Only narrows what the merge page offers; merge_case checks everything again.
    """
    seen, kept = {duplicate.id}, []
    for case in cases:
        if case.id in seen:
            continue
        seen.add(case.id)
        if can(actor, "case.edit", case) and merged_into(case.id) is None:
            kept.append(case)
    return kept


def link_candidates(actor: User, case: FailureCase, cases) -> list[FailureCase]:
    """The cases among `cases` (suggestions, search results) the actor could link `case` to: other cases they
    may open that were not merged away (their address leads elsewhere), each once, in the given order.
    Only narrows what the link form offers; create_link checks again."""
    seen, kept = {case.id}, []
    for other in cases:
        if other.id not in seen and can(actor, "case.view", other) and merged_into(other.id) is None:
            seen.add(other.id)
            kept.append(other)
    return kept


def merge_target(actor: User, case_id) -> FailureCase | None:
    """The case an id names when the actor may open it, else None (a chosen or pre-selected case to keep)."""
    case = db.session.get(FailureCase, case_id) if case_id else None
    return case if case is not None and can(actor, "case.view", case) else None


def merge_case(actor: User, duplicate: FailureCase, data: dict) -> CaseMerge:
    """Merge `duplicate` into the case `data["kept_id"]`: comments, links and subscriptions move there,
    the duplicate is retracted and its URL redirects to the kept case.

    The actor must be allowed to edit both cases. When more people may open the kept case than the duplicate,
    its comments and links would reach them: the merge then needs `confirm_visibility` (else a 422 that says
    how many would be shown).
    """
    require(actor, "case.merge", duplicate)
    require(actor, "case.edit", duplicate)
    values = MergeSchema().load(data)
    kept = db.session.get(FailureCase, values["kept_id"])
    if kept is None or not can(actor, "case.view", kept):
        raise ValidationError({"kept_id": [N_("No such case.")]})
    if duplicate.id == kept.id:
        raise ValidationError({"kept_id": [N_("A case cannot be merged into itself.")]})
    if not can(actor, "case.edit", kept):
        raise PermissionDenied(N_("You may not edit the case to keep, so you cannot merge into it."))
    # Both rows in id order, so two merges at once (A into B and B into A, or the same one twice) take turns
    # and the second sees the first's merge below.
    for case in sorted((duplicate, kept), key=lambda c: c.id):
        lock_row(db.session, case)
    if merged_into(duplicate.id) is not None:
        raise ZhiguError(N_("This case was already merged."), 409)
    if merged_into(kept.id) is not None:
        raise ValidationError({"kept_id": [N_("That case was itself merged; merge into the case it redirects to.")]})
    if _widens(duplicate, kept) and not values["confirm_visibility"]:
        comments, links = _what_would_move(duplicate, kept)
        if comments or links:
            raise ValidationError({"confirm_visibility": [N_(
                "{comments} comment(s) and {links} link(s) of this case would become visible to a wider audience: "
                "more people may open the case to keep than this one. Confirm to merge anyway."
            ).format(comments=comments, links=links)]})
    moved_comments = [c.id for c in db.session.scalars(select(Comment).where(Comment.case_id == duplicate.id))]
    for comment in db.session.scalars(select(Comment).where(Comment.case_id == duplicate.id)):
        comment.case_id = kept.id
    moved_links, dropped_links = [], []
    links = db.session.scalars(select(CaseLink).where(or_(CaseLink.source_id == duplicate.id,
                                                          CaseLink.target_id == duplicate.id))).all()
    for link in links:
        source = kept.id if link.source_id == duplicate.id else link.source_id
        target = kept.id if link.target_id == duplicate.id else link.target_id
        snapshot = {"id": link.id, "type": link.type, "source_id": link.source_id, "target_id": link.target_id,
                    "note": link.note, "author_id": link.author_id}
        if source == target or _pair_taken(source, target, link.type):
            dropped_links.append(snapshot)  # a link between the two cases, or one the kept case already has
            db.session.delete(link)
        else:
            link.source_id, link.target_id = source, target
            moved_links.append(snapshot)
        db.session.flush()
    moved_subscriptions = 0
    for sub in db.session.scalars(select(Subscription).where(Subscription.kind == "case",
                                                             Subscription.target == str(duplicate.id))):
        if not can(sub.user, "case.view", kept):
            continue  # never follow a case one may not open; the subscription stays with the duplicate
        if db.session.scalar(select(Subscription.id).where(Subscription.user_id == sub.user_id,
                                                           Subscription.kind == "case",
                                                           Subscription.target == str(kept.id))):
            db.session.delete(sub)
        else:
            sub.target = str(kept.id)
            moved_subscriptions += 1
    old_status = duplicate.status
    reason = values["reason"] or f"Merged into case {kept.id} as a duplicate."
    if old_status != CaseStatus.retracted:
        duplicate.status = CaseStatus.retracted
        duplicate.retracted_at = now_utc()
        duplicate.retraction_reason = reason
        db.session.add(CaseRevision(case=duplicate, editor=actor, action="retract",
                                    changes={"status": {"old": old_status, "new": CaseStatus.retracted.value},
                                             "retraction_reason": {"old": None, "new": reason}}))
    merge = CaseMerge(duplicate=duplicate, kept=kept, actor=actor)
    db.session.add(merge)
    details = dict(duplicate_id=duplicate.id, kept_id=kept.id, duplicate_title=duplicate.title,
                   duplicate_status=old_status, moved_comments=moved_comments, moved_links=moved_links,
                   dropped_links=dropped_links, moved_subscriptions=moved_subscriptions,
                   summary=f"“{duplicate.title}” (case {duplicate.id}) into “{kept.title}” (case {kept.id})")
    for case_id in (duplicate.id, kept.id):
        record(actor, "case.merge", case_id, values["reason"], **details)
    notify_case_subscribers(kept, NotificationKind.merge, N_("“{duplicate}” was merged into “{kept}”."),
                            params={"duplicate": case_ref(duplicate), "kept": case_ref(kept)}, exclude=actor)
    db.session.commit()
    return merge


def _audience(case: FailureCase) -> int:
    """How widely a case is seen: 2 everyone, 1 its park, 0 its filer and its park's managers (and admins)."""
    if case.status in UNPUBLISHED_STATUSES:
        return 0
    return {Visibility.public: 2, Visibility.park: 1}.get(case.visibility, 0)


def _widens(duplicate: FailureCase, kept: FailureCase) -> bool:
    """Whether someone who may open `kept` may not open `duplicate` (so what moves reaches more people)."""
    shown, hidden_from_some = _audience(kept), _audience(duplicate)
    if hidden_from_some == 2:
        return False
    if shown > hidden_from_some or kept.park_id != duplicate.park_id:
        return True
    # same park, and the kept case is no more visible: only its own filer may be new
    filer = kept.author
    return filer is not None and filer.id != duplicate.author_id and not (
        hidden_from_some == 1 and filer.park_id == duplicate.park_id)


def _what_would_move(duplicate: FailureCase, kept: FailureCase) -> tuple[int, int]:
    """How many comments and links of `duplicate` a merge into `kept` moves there (links it drops aside)."""
    comments = db.session.scalar(select(func.count(Comment.id)).where(Comment.case_id == duplicate.id)) or 0
    links = 0
    for link in db.session.scalars(select(CaseLink).where(or_(CaseLink.source_id == duplicate.id,
                                                              CaseLink.target_id == duplicate.id))):
        source = kept.id if link.source_id == duplicate.id else link.source_id
        target = kept.id if link.target_id == duplicate.id else link.target_id
        if source != target and not _pair_taken(source, target, link.type):
            links += 1
    return comments, links


def merge_redirect(actor, case_id: int) -> int | None:
    """The case a merged duplicate's URL leads `actor` to, or None when `case_id` was not merged.

    Only readers who may open the kept case and could open the duplicate follow it; for everyone else the
    duplicate's URL answers like an unknown id (the same 404).
    """
    kept_id = merged_into(case_id)
    if kept_id is None:
        return None
    get_visible(actor, FailureCase, case_id, "case.view", message=N_("No such case."))
    get_visible(actor, FailureCase, kept_id, "case.view", message=N_("No such case."))
    return kept_id


def suggestions(actor, case: FailureCase, similar, limit: int = 5) -> list:
    """The most similar cases (search results) not yet linked to `case`, when the actor may add links."""
    if not can(actor, "link.create", case):
        return []
    linked = {link.other(case.id).id for link in links_of(actor, case)}
    return [result.case for result in similar if result.case.id not in linked and result.case.id != case.id][:limit]
