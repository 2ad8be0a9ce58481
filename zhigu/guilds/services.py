"""Red and black list use cases: due process for listing an organization.

- A guild's reviewer proposes a listing with a justification and evidence: public, published,
  non-anonymized cases and external URLs. Anything else is rejected as a field error, so the blameless
  archive never serves as hidden evidence.
- An organization is never listed on the strength of its own post-mortems alone: at least one item of
  evidence must come from elsewhere (an external source, or a case filed by someone else about someone else).
- A second reviewer of the same guild, never the proposer, confirms before the listing is published; the
  organization's representative is then notified and may reply (shown beside the listing) or appeal.
- An appeal suspends the listing (off the public lists, its page says so) until a reviewer of the guild
  upholds it (confirm) or withdraws it, giving a written reason the organization reads. Nobody judges their
  own decision: whoever proposed, confirmed, renewed or upheld the listing before does not judge its appeal.
- A listing expires (LISTING_DAYS, default 365) unless renewed with evidence it did not have before.
- Every step adds a ListingEvent, the audit log reviewers of the guild and admins read.
Each use case checks a named permission, validates, mutates and commits once.
"""
from datetime import date, timedelta

from flask import current_app, has_app_context
from marshmallow import ValidationError
from sqlalchemy import func, select

from zhigu.archive.models import CaseStatus, FailureCase, Visibility
from zhigu.auth.models import User
from zhigu.auth.permissions import can, is_admin, require
from zhigu.db import now_utc
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.guilds.models import LIST_TERMS, Evidence, Guild, GuildReviewer, Listing, ListingEvent, Organization
from zhigu.guilds.schemas import (AppealSchema, DecisionSchema, EvidenceRef, GuildReviewerSchema, GuildSchema,
                                  ListingSchema, OrganizationSchema, RenewalSchema, ReplySchema, WithdrawSchema)
from zhigu.notify.messages import term
from zhigu.notify.inbox import notify
from zhigu.notify.models import NotificationKind
from zhigu.validation import db_id
from zhigu.trimming import Shown, trims
from zhigu.visibility import get_visible


def today() -> date:
    return now_utc().date()


def listing_days() -> int:
    return int(current_app.config.get("LISTING_DAYS", 365)) if has_app_context() else 365


# -- guilds, reviewers, organizations (admins) ----------------------------------------------------------

def create_guild(actor, data: dict) -> Guild:
    """Create a guild; `actor` None is the CLI."""
    if actor is not None:
        require(actor, "guild.admin")
    values = GuildSchema().load(data)
    if db.session.scalar(select(Guild.id).where(Guild.slug == values["slug"])):
        raise ValidationError({"slug": [N_("A guild with this slug exists.")]})
    guild = Guild(**values)
    db.session.add(guild)
    db.session.commit()
    return guild


def guild_by_slug(slug: str) -> Guild | None:
    return db.session.scalar(select(Guild).where(Guild.slug == slug))


def add_reviewer(actor, data: dict) -> GuildReviewer:
    """Give a user the guild_reviewer role in one guild."""
    if actor is not None:
        require(actor, "guild.admin")
    values = GuildReviewerSchema().load(data)
    guild = guild_by_slug(values["guild"])
    if guild is None:
        raise ValidationError({"guild": [N_("No such guild.")]})
    user = db.session.scalar(select(User).where(func.lower(User.email) == values["email"].lower()))
    if user is None:
        raise ValidationError({"email": [N_("No user with this e-mail.")]})
    if db.session.scalar(select(GuildReviewer.id).where(GuildReviewer.guild_id == guild.id,
                                                        GuildReviewer.user_id == user.id)):
        raise ValidationError({"email": [N_("This user already reviews for this guild.")]})
    membership = GuildReviewer(guild=guild, user=user)
    db.session.add(membership)
    db.session.commit()
    return membership


def list_guilds() -> list[Guild]:
    return list(db.session.scalars(select(Guild).order_by(Guild.name)))


def guilds_of(user) -> list[Guild]:
    """The guilds `user` reviews for."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(Guild).join(GuildReviewer).where(GuildReviewer.user_id == user.id)
                                   .order_by(Guild.name)))


def create_organization(actor, data: dict) -> Organization:
    require(actor, "guild.admin")
    values = OrganizationSchema().load(data)
    if db.session.scalar(select(Organization.id).where(func.lower(Organization.name) == values["name"].lower())):
        raise ValidationError({"name": [N_("An organization with this name exists.")]})
    email = values.pop("representative")
    org = Organization(**values)
    if email:
        org.representative = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if org.representative is None:
            raise ValidationError({"representative": [N_("No user with this e-mail.")]})
    db.session.add(org)
    db.session.commit()
    return org


def list_organizations() -> list[Organization]:
    return list(db.session.scalars(select(Organization).order_by(Organization.name)))


def _organization(ref: str) -> Organization | None:
    ref = str(ref).strip()
    if (org_id := db_id(ref)) is not None:
        org = db.session.get(Organization, org_id)
        if org is not None:
            return org
    return db.session.scalar(select(Organization).where(func.lower(Organization.name) == ref.lower()))


# -- evidence -----------------------------------------------------------------------------------------

def _evidence(actor, refs: list[EvidenceRef]) -> list[tuple[FailureCase | None, str | None]]:
    """Resolve evidence (as the Evidence field read it) to (case, None) or (None, url); only public,
    non-anonymized published cases.

    A case the actor may not open is "no such case", as a missing one is: the error never tells it exists.
    """
    resolved, errors = [], {}
    for i, ref in enumerate(refs):
        if ref.url is not None:
            resolved.append((None, ref.url))
            continue
        case = db.session.get(FailureCase, ref.case_id)
        if case is None or not can(actor, "case.view", case):
            errors[i] = [N_("No such case: {ref}.").format(ref=ref.ref)]
        elif case.status != CaseStatus.published or case.visibility != Visibility.public or case.anonymize:
            errors[i] = [N_("Case {id} cannot be evidence: only published, public, non-anonymized cases can.").format(id=case.id)]
        else:
            resolved.append((case, None))
    if errors:
        raise ValidationError({"evidence": errors})
    return resolved


def _own_post_mortem(case: FailureCase, org: Organization) -> bool:
    """A case the organization filed about itself (its representative filed it, or it names the organization)."""
    return ((org.representative_id is not None and case.author_id == org.representative_id)
            or (case.org_name or "").strip().lower() == org.name.strip().lower())


def _check_not_own_post_mortems_alone(evidence, org: Organization) -> None:
    if all(case is not None and _own_post_mortem(case, org) for case, _ in evidence):
        raise ValidationError({"evidence": [N_("An organization is never listed on the strength of its own "
                                               "post-mortems alone: add an independent source.")]})


def _attach(listing: Listing, evidence, actor) -> int:
    have = {(e.case_id, e.url) for e in listing.evidence}
    added = 0
    for case, url in evidence:
        key = (case.id if case else None, url)
        if key not in have:
            have.add(key)
            listing.evidence.append(Evidence(case=case, url=url, added_by_id=actor.id))
            added += 1
    return added


def _event(listing: Listing, actor, action: str, **details) -> None:
    listing.events.append(ListingEvent(actor_id=getattr(actor, "id", None), action=action, details=details))


def _evidence_summary(evidence) -> list:
    return [{"case_id": case.id} if case else {"url": url} for case, url in evidence]


# -- the listing process ------------------------------------------------------------------------------

def propose_listing(actor, data: dict) -> Listing:
    """Propose a red or black listing; it stays unpublished until a second reviewer confirms it."""
    if not getattr(actor, "is_authenticated", False):
        require(actor, "guild.admin")  # 401 for visitors
    values = ListingSchema().load(data)
    mine = guilds_of(actor)
    if values["guild"]:
        guild = guild_by_slug(values["guild"])
        if guild is None:
            raise ValidationError({"guild": [N_("No such guild.")]})
    elif len(mine) == 1:
        guild = mine[0]
    elif not mine:
        guild = None
    else:
        raise ValidationError({"guild": [N_("You review for several guilds: name one.")]})
    if guild is None or not can(actor, "listing.propose", guild):
        raise PermissionDenied(N_("Only a reviewer of the guild may propose a listing."))
    org = _organization(values["organization"])
    if org is None:
        raise ValidationError({"organization": [N_("No such organization.")]})
    evidence = _evidence(actor, values["evidence"])
    _check_not_own_post_mortems_alone(evidence, org)
    open_ = db.session.scalar(select(Listing.id).where(
        Listing.guild_id == guild.id, Listing.organization_id == org.id,
        Listing.status.in_(("proposed", "published", "appealed"))))
    if open_ is not None:
        raise ValidationError({"organization": [N_("This guild already has listing {id} for it.").format(id=open_)]})
    listing = Listing(guild=guild, organization=org, list_name=values["list"], status="proposed",
                      justification=values["justification"].strip(), proposer=actor)
    _attach(listing, evidence, actor)
    db.session.add(listing)
    _event(listing, actor, "propose", list=listing.list_name, justification=listing.justification,
           evidence=_evidence_summary(evidence))
    others = [m.user for m in guild.reviewers if m.user_id != actor.id]
    notify(others, NotificationKind.listing, None,
           N_("{actor} proposed {org} for the {list} of {guild}; a second reviewer must confirm it."),
           params={"actor": actor.display_name, "org": org.name, "list": _list_term(listing), "guild": guild.name})
    db.session.commit()
    return listing


def get_listing(actor, listing_id: int) -> Listing:
    """Load a listing the actor may see; the same 404 when it does not exist or is hidden from them."""
    return get_visible(actor, Listing, listing_id, "listing.view", message=N_("No such listing."))


@trims(Listing)
def shown_listing(viewer, listing: Listing) -> Listing | Shown:
    """A listing's audit trail (every step, with who took it) only for the guild's reviewers and admins."""
    return listing if viewer is not None and can(viewer, "listing.audit", listing) else Shown(listing, events=None)


def confirm_listing(actor, listing: Listing, data: dict | None = None) -> Listing:
    """Publish a proposal, or uphold an appealed listing; a second reviewer of the guild, never the proposer.

    Upholding answers an appeal: it needs a written `reason` (DecisionSchema), which the organization reads,
    and a reviewer who took no part in the listing's earlier decisions (see `may_judge_appeal`).
    """
    if listing.status not in ("proposed", "appealed"):
        require(actor, "listing.confirm", listing)
        raise ZhiguError(N_("This listing is already published; there is nothing to confirm.")
                         if listing.status == "published" else
                         N_("This listing was withdrawn; there is nothing to confirm."), 409)
    require(actor, "listing.confirm", listing)
    upheld = listing.status == "appealed"
    if upheld:
        _require_impartial(actor, listing)
    reason = DecisionSchema().load(data or {})["reason"]
    if upheld and reason is None:
        raise ValidationError({"reason": [N_("Say why the listing is upheld: the organization reads it.")]})
    listing.status = "published"
    org = listing.organization
    if upheld:
        _event(listing, actor, "uphold", expires_on=listing.expires_on.isoformat(), reason=reason)
        notify([org.representative], NotificationKind.listing, None,
               N_("The appeal of {org} was not granted: it is on the {list} of {guild} again, until {date}. "
                  "Reason: {reason}"),
               params={"org": org.name, "list": _list_term(listing), "guild": listing.guild.name,
                       "date": listing.expires_on.isoformat(), "reason": reason})
    else:
        listing.confirmer = actor
        listing.published_at = now_utc()
        listing.expires_on = today() + timedelta(days=listing_days())
        details = {"expires_on": listing.expires_on.isoformat()} | ({"reason": reason} if reason else {})
        _event(listing, actor, "confirm", **details)
        notify([org.representative], NotificationKind.listing, None,
               N_("{org} is on the {list} of {guild} until {date}. You may reply beside the listing or appeal."),
               params={"org": org.name, "list": _list_term(listing), "guild": listing.guild.name,
                       "date": listing.expires_on.isoformat()})
    verb = term(N_("upheld after the appeal") if upheld else N_("published"))
    notify([listing.proposer], NotificationKind.listing, None, N_("{org}'s listing on the {list} was {verb}."),
           params={"org": org.name, "list": _list_term(listing), "verb": verb}, exclude=actor)
    db.session.commit()
    return listing


#: Events whose actor decided on the listing, and so may not judge an appeal against it.
DECISIONS = ("propose", "confirm", "renew", "uphold")


def may_judge_appeal(user, listing: Listing) -> bool:
    """Whether `user` took no part in the listing's decisions (proposing, confirming, renewing, upholding)."""
    user_id = getattr(user, "id", None)
    return user_id is not None and all(e.actor_id != user_id for e in listing.events if e.action in DECISIONS)


def _require_impartial(actor, listing: Listing) -> None:
    if not may_judge_appeal(actor, listing):
        raise PermissionDenied(N_("You took part in this listing's decisions: another reviewer of the guild judges "
                                  "the appeal."))


def appeal_decision(listing: Listing) -> ListingEvent | None:
    """The last answer to an appeal of a listing (an uphold, with its reason), shown on its public page."""
    return next((e for e in listing.events if e.action == "uphold"), None)  # events are newest first


def reply_to_listing(actor, listing: Listing, data: dict) -> Listing:
    """The organization's representative posts (or replaces) the reply shown beside the listing."""
    require(actor, "listing.reply", listing)
    values = ReplySchema().load(data)
    if listing.status not in ("published", "appealed"):
        raise ZhiguError(N_("Only a published listing takes a reply."), 409)
    listing.reply = values["reply"].strip()
    listing.replied_at = now_utc()
    _event(listing, actor, "reply", reply=listing.reply)
    _notify_reviewers(listing, actor, N_("{org} replied to its listing on the {list}."))
    db.session.commit()
    return listing


def appeal_listing(actor, listing: Listing, data: dict) -> Listing:
    """The representative appeals: the listing is suspended until a reviewer upholds or withdraws it."""
    require(actor, "listing.appeal", listing)
    values = AppealSchema().load(data)
    if listing.status != "published":
        raise ZhiguError(N_("Only a published listing can be appealed."), 409)
    listing.status = "appealed"
    listing.appeal_reason = values["reason"].strip()
    _event(listing, actor, "appeal", reason=listing.appeal_reason)
    _notify_reviewers(listing, actor, N_("{org} appealed its listing on the {list}: it is suspended until a "
                                         "reviewer who took no part in it upholds or withdraws it."))
    db.session.commit()
    return listing


def withdraw_listing(actor, listing: Listing, data: dict) -> Listing:
    """A reviewer of the guild (or an admin) withdraws a proposal or an appealed or published listing.

    Withdrawing an appealed listing grants the appeal: not by anyone who decided on the listing before.
    """
    require(actor, "listing.withdraw", listing)
    if listing.status == "appealed":
        _require_impartial(actor, listing)
    values = WithdrawSchema().load(data)
    if listing.status == "withdrawn":
        raise ZhiguError(N_("This listing was already withdrawn."), 409)
    listing.status = "withdrawn"
    _event(listing, actor, "withdraw", reason=values["reason"])
    if listing.published_at is not None:
        notify([listing.organization.representative], NotificationKind.listing, None,
               N_("{org}'s listing on the {list} was withdrawn: {reason}"),
               params={"org": listing.organization.name, "list": _list_term(listing), "reason": values["reason"]})
    db.session.commit()
    return listing


def renew_listing(actor, listing: Listing, data: dict) -> Listing:
    """Extend a published listing by another period; only with evidence it did not have before."""
    require(actor, "listing.renew", listing)
    values = RenewalSchema().load(data)
    if listing.status != "published":
        raise ZhiguError(N_("Only a published listing can be renewed."), 409)
    evidence = _evidence(actor, values["evidence"])
    fresh = [(c, u) for c, u in evidence
             if (c.id if c else None, u) not in {(e.case_id, e.url) for e in listing.evidence}]
    if not fresh:
        raise ValidationError({"evidence": [N_("Renewing needs fresh evidence the listing does not have yet.")]})
    _check_not_own_post_mortems_alone(fresh, listing.organization)
    _attach(listing, fresh, actor)
    listing.expires_on = max(today(), listing.expires_on) + timedelta(days=listing_days())
    _event(listing, actor, "renew", expires_on=listing.expires_on.isoformat(), evidence=_evidence_summary(fresh))
    notify([listing.organization.representative], NotificationKind.listing, None,
           N_("{org}'s listing on the {list} was renewed until {date}."),
           params={"org": listing.organization.name, "list": _list_term(listing),
                   "date": listing.expires_on.isoformat()})
    db.session.commit()
    return listing


def _notify_reviewers(listing: Listing, actor, message: str) -> None:
    notify([m.user for m in listing.guild.reviewers], NotificationKind.listing, None, message, exclude=actor,
           params={"org": listing.organization.name, "list": _list_term(listing)})


def _list_term(listing: Listing) -> dict:
    """The list's name in notifications ("honour roll", "warning list"), translated when shown."""
    return term(LIST_TERMS[listing.list_name])


# -- reading ------------------------------------------------------------------------------------------

def current_listings(list_: str | None = None) -> list[Listing]:
    """Published listings not yet expired: the public red and black lists. One under appeal is suspended."""
    return _unexpired("published", list_)


def suspended_listings() -> list[Listing]:
    """Unexpired listings under appeal, which the public pages name as suspended, apart from the lists."""
    return _unexpired("appealed")


def _unexpired(status: str, list_: str | None = None) -> list[Listing]:
    query = select(Listing).join(Organization).where(Listing.status == status, Listing.expires_on >= today())
    if list_:
        query = query.where(Listing.list_name == list_)
    return list(db.session.scalars(query.order_by(Organization.name, Listing.id)))


def pending_listings(actor) -> list[Listing]:
    """Listings awaiting review (proposed or appealed) in the guilds `actor` reviews for; all for admins."""
    query = select(Listing).where(Listing.status.in_(("proposed", "appealed")))
    if not is_admin(actor):
        query = query.where(Listing.guild_id.in_([g.id for g in guilds_of(actor)] or [-1]))
    return list(db.session.scalars(query.order_by(Listing.id)))


def listing_audit(actor, listing: Listing) -> list[ListingEvent]:
    require(actor, "listing.audit", listing)
    return list(listing.events)


def visible_evidence(listing: Listing) -> list[Evidence]:
    """Evidence still fit to show: a case later made private, anonymized or retracted is left out."""
    return [e for e in listing.evidence if e.url or (e.case is not None and e.case.status == CaseStatus.published
                                                     and e.case.visibility == Visibility.public and not e.case.anonymize)]
