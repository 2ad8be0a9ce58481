"""The life around the demo cases: guilds and their listings, follows, comments, links, cases in review and
initiatives with verdicts and outcomes (data/activity.json, data/initiatives.jsonl).

Everything goes through the domains' public services, as a user of each role would, so permissions, audit
entries, notifications and the search index stay right. Each item is looked up first and made only when
missing (a listing or an initiative is taken on from the step it reached), so running the demo again adds
nothing. Every function returns how many things it added.
"""
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from zhigu.archive import services as archive
from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.attempts import services as attempts
from zhigu.auth import services as auth
from zhigu.auth.models import User
from zhigu.comments import services as comments
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.guilds import services as guilds
from zhigu.guilds.models import Guild, Listing, Organization
from zhigu.initiatives import services as initiatives
from zhigu.links import services as links
from zhigu.notify import subscriptions
from zhigu.reviews import services as reviews

DATA = Path(__file__).with_name("data")
ADMIN = "admin@zhigu.example"


def load() -> tuple[dict, list[dict]]:
    """The activity file and the example initiatives."""
    activity = json.loads((DATA / "activity.json").read_text(encoding="utf-8"))
    lines = (DATA / "initiatives.jsonl").read_text(encoding="utf-8").splitlines()
    return activity, [json.loads(line) for line in lines if line.strip()]


def _user(email: str) -> User:
    user = auth.find_user(email)
    if user is None:
        raise LookupError(f"demo user {email} is missing")
    return user


def _cases(external_ids) -> dict[str, FailureCase]:
    """Demo cases by external id (the data names cases so, since database ids differ between installations)."""
    query = select(FailureCase).where(FailureCase.external_id.in_(list(external_ids)))
    return {case.external_id: case for case in db.session.scalars(query)}


def populate(activity: dict, ideas: list[dict]) -> dict[str, int]:
    """Add whatever of the demo's activity is missing; returns what was added, by kind."""
    return {"guild entries": add_guilds(activity), "listing steps": add_listings(activity),
            "follows": add_subscriptions(activity), "review steps": add_review_cases(activity),
            "links": add_links(activity), "comments": add_comments(activity),
            "initiative steps": add_initiatives(ideas)}


# -- guilds -------------------------------------------------------------------------------------------

def add_guilds(activity: dict) -> int:
    """Guilds, their reviewers (the users naming them) and the organizations they judge."""
    added = 0
    for guild in activity["guilds"]:
        if guilds.guild_by_slug(guild["slug"]) is None:
            guilds.create_guild(None, guild)
            added += 1
    for user in activity["users"]:
        have = {g.slug for g in guilds.guilds_of(_user(user["email"]))}
        for slug in user.get("guilds", []):
            if slug not in have:
                guilds.add_reviewer(None, {"guild": slug, "email": user["email"]})
                added += 1
    admin = _user(ADMIN)
    names = {org.name for org in guilds.list_organizations()}
    for org in activity["organizations"]:
        if org["name"] not in names:
            guilds.create_organization(admin, org)
            added += 1
    return added


def _latest_listing(guild_slug: str, org_name: str) -> Listing | None:
    """The guild's latest listing of the organization, in whatever state (so an expired or withdrawn one is not
    proposed again, which the guild's rules would refuse)."""
    return db.session.scalar(select(Listing).join(Guild).join(Organization)
                             .where(Guild.slug == guild_slug, Organization.name == org_name)
                             .order_by(Listing.id.desc()).limit(1))


#: Each step of a listing's due process: the statuses it applies to, and the service with the data it is given.
STEPS = {
    "confirm": (("proposed",), lambda actor, listing, step: guilds.confirm_listing(
        actor, listing, {"reason": step["reason"]})),
    "reply": (("published", "appealed"), lambda actor, listing, step: guilds.reply_to_listing(
        actor, listing, {"reply": step["reply"]})),
    "appeal": (("published",), lambda actor, listing, step: guilds.appeal_listing(
        actor, listing, {"reason": step["reason"]})),
}


def add_listings(activity: dict) -> int:
    """Propose each listing, then take it through the steps (confirm, reply, appeal) it has not had yet; a listing
    someone has since taken elsewhere (upheld, withdrawn) is left as it is."""
    added = 0
    refs = {ref for spec in activity["listings"] for ref in spec["evidence"] if not ref.startswith("http")}
    cases = _cases(refs)
    for spec in activity["listings"]:
        listing = _latest_listing(spec["guild"], spec["organization"])
        if listing is None:
            evidence = [ref if ref.startswith("http") else cases[ref].id for ref in spec["evidence"]]
            listing = guilds.propose_listing(_user(spec["proposer"]), {
                "guild": spec["guild"], "organization": spec["organization"], "list": spec["list"],
                "justification": spec["justification"], "evidence": evidence})
            added += 1
        done = {event.action for event in listing.events}
        for step in spec["steps"]:
            statuses, take = STEPS[step["action"]]
            if step["action"] not in done and listing.status in statuses:
                take(_user(step["by"]), listing, step)
                added += 1
    return added


# -- follows, cases in review, links, comments ------------------------------------------------------------

def add_subscriptions(activity: dict) -> int:
    """What the demo users follow; case targets are named by external id."""
    added = 0
    cases = _cases(s["target"] for s in activity["subscriptions"] if s["kind"] == "case")
    for spec in activity["subscriptions"]:
        if spec["kind"] == "case" and cases[spec["target"]].status != CaseStatus.published:
            continue  # retracted since: nobody may follow it any more
        user = _user(spec["user"])
        target = str(cases[spec["target"]].id) if spec["kind"] == "case" else spec["target"]
        if subscriptions.subscription_for(user, spec["kind"], target) is None:
            subscriptions.subscribe(user, {"kind": spec["kind"], "target": target})
            added += 1
    return added


def add_review_cases(activity: dict) -> int:
    """Curators' cases short of publication: a draft, cases waiting for a park manager, one sent back."""
    added = 0
    existing = _cases(spec["case"]["external_id"] for spec in activity["review_cases"])
    for spec in activity["review_cases"]:
        author = _user(spec["by"])
        case = existing.get(spec["case"]["external_id"])
        if case is None:
            case = archive.create_case(author, spec["case"])
            added += 1
        if "submit" in spec["steps"] and case.status == CaseStatus.draft:
            reviews.submit_case(author, case)
            added += 1
        if "request_changes" in spec["steps"] and case.status == CaseStatus.in_review:
            reviews.review_case(_user(spec["review_by"]), case, {"decision": "request_changes",
                                                                 "comment": spec["comment"]})
            added += 1
    return added


def add_links(activity: dict) -> int:
    """Typed links between cases, made by the curators and managers who would spot them."""
    added = 0
    cases = _cases({ref for spec in activity["links"] for ref in (spec["source"], spec["target"])})
    for spec in activity["links"]:
        actor, source, target = _user(spec["by"]), cases[spec["source"]], cases[spec["target"]]
        if CaseStatus.retracted in (source.status, target.status):
            continue  # e.g. the duplicate was merged away: its links moved to the kept case
        if not any(link.type == spec["type"] and link.other(source.id).id == target.id
                   for link in links.links_of(actor, source)):
            links.create_link(actor, source, {"target_id": target.id, "type": spec["type"], "note": spec["note"]})
            added += 1
    return added


def add_comments(activity: dict) -> int:
    """Questions and answers on several cases, in both languages, and one comment a manager hid (moderation)."""
    added = 0
    cases = _cases(spec["case"] for spec in activity["comments"])
    for spec in activity["comments"]:
        case = cases[spec["case"]]
        if case.status != CaseStatus.published:
            continue  # retracted since: its readers, and so its commenters, are gone
        thread = comments.list_comments(_user(spec["by"]), case)
        comment = next((c for c in thread if c.body == spec["body"]), None)
        if comment is None:
            comment = comments.create_comment(_user(spec["by"]), case, {"body": spec["body"]})
            added += 1
        if spec.get("hidden_by") and not comment.is_hidden:
            comments.hide_comment(_user(spec["hidden_by"]), comment, {"reason": spec["hidden_reason"]})
            added += 1
        for reply in spec.get("replies", []):
            if not any(r.body == reply["body"] for r in comment.replies):
                comments.create_comment(_user(reply["by"]), case, {"body": reply["body"], "parent_id": comment.id})
                added += 1
    return added


# -- initiatives --------------------------------------------------------------------------------------------

#: The keys of an initiatives.jsonl line that say what became of it, not what was registered.
STORY = ("founder", "follow", "verdicts", "second_attempt_of", "outcomes", "post_mortem")


def add_initiatives(ideas: list[dict]) -> int:
    """Register each example initiative for its founder, then record verdicts, re-attempts and outcomes."""
    added = 0
    refs = {ref for idea in ideas for ref in
            [v["case"] for v in idea.get("verdicts", [])] + idea.get("second_attempt_of", [])}
    cases = _cases(refs)
    for idea in ideas:
        founder = _user(idea["founder"])
        initiative = next((i for i in initiatives.initiatives_of(founder) if i.title == idea["title"]), None)
        if initiative is None:
            initiative = initiatives.register_initiative(
                founder, {key: value for key, value in idea.items() if key not in STORY})
            added += 1
        added += _story(founder, initiative, idea, cases)
    return added


def _story(founder: User, initiative, idea: dict, cases: dict[str, FailureCase]) -> int:
    """What the founder did since registering: follow, verdicts, what it re-attempts, outcomes, a post-mortem."""
    added = 0
    if idea.get("follow") and subscriptions.subscription_for(founder, "initiative", str(initiative.id)) is None:
        subscriptions.subscribe(founder, {"kind": "initiative", "target": str(initiative.id)})
        added += 1
    judged = {s.case_id for s in initiative.suggestions if s.verdict is not None}
    for verdict in idea.get("verdicts", []):
        case = cases[verdict["case"]]
        if case.id not in judged:
            initiatives.record_feedback(founder, initiative, {"case_id": case.id, "verdict": verdict["verdict"],
                                                              "note": verdict.get("note", "")})
            added += 1
    if idea.get("second_attempt_of") and not attempts.attempt_links(initiative):
        attempts.record_outcome(founder, initiative, {
            "second_attempt_of": [cases[ref].id for ref in idea["second_attempt_of"]]})
        added += 1
    today = now_utc().date()
    for step in idea.get("outcomes", [])[len(attempts.history(initiative)):]:
        attempts.record_outcome(founder, initiative, {
            "outcome": step["outcome"], "note": step["note"],
            "outcome_on": (today - timedelta(days=step["days_ago"])).isoformat()})
        added += 1
    if idea.get("post_mortem") and attempts.post_mortem_of(initiative) is None:
        attempts.create_post_mortem(founder, initiative, idea["post_mortem"])
        added += 1
    return added
