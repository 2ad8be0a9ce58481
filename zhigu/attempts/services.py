"""Record what became of initiatives, turn a failed one into a post-mortem, and compare attempts.

Every public writer checks permission, validates through its schema, mutates and commits once.
"""
import statistics
from dataclasses import dataclass
from datetime import date

from marshmallow import ValidationError
from sqlalchemy import or_, select

from zhigu.archive import services as archive_services
from zhigu.archive.models import CaseStatus, FailureCase, Visibility
from zhigu.archive.schemas import FailureCaseSchema
from zhigu.attempts.models import FINAL_OUTCOMES, InitiativeOutcome, InitiativePostMortem, SecondAttempt
from zhigu.attempts.schemas import InitiativeOutcomeSchema, PostMortemRequestSchema
from zhigu.auth.models import Park, User
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.errors import ZhiguError
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.initiatives.models import Initiative, Suggestion
from zhigu.initiatives.permissions import initiatives_clause
from zhigu.links.models import CaseLink

#: Outcomes after which an initiative may become a post-mortem.
POST_MORTEM_OUTCOMES = ("failed", "abandoned")


def history(initiative: Initiative) -> list[InitiativeOutcome]:
    """The initiative's outcomes in the order they happened."""
    return list(db.session.scalars(select(InitiativeOutcome).where(InitiativeOutcome.initiative_id == initiative.id)
                                   .order_by(InitiativeOutcome.outcome_on, InitiativeOutcome.id)))


def current_outcome(initiative: Initiative) -> InitiativeOutcome | None:
    steps = history(initiative)
    return steps[-1] if steps else None


def attempt_links(initiative: Initiative) -> list[SecondAttempt]:
    return list(db.session.scalars(select(SecondAttempt).where(SecondAttempt.initiative_id == initiative.id)
                                   .order_by(SecondAttempt.id)))


def post_mortem_of(initiative: Initiative) -> FailureCase | None:
    link = db.session.scalar(select(InitiativePostMortem).where(InitiativePostMortem.initiative_id == initiative.id))
    return link.case if link else None


def _earlier_cases(actor, ids: list[int], field: str = "second_attempt_of") -> list[FailureCase]:
    """The published cases named by id, each one the actor may open; a field error names any other."""
    cases = []
    for position, case_id in enumerate(dict.fromkeys(ids)):
        case = db.session.get(FailureCase, case_id)
        if case is None or case.status != CaseStatus.published or not can(actor, "case.view", case):
            raise ValidationError({field: {position: [N_("No such published case.")]}})
        cases.append(case)
    return cases


def _set_links(initiative: Initiative, cases: list[FailureCase]) -> None:
    """Make the initiative's second_attempt_of exactly `cases`."""
    wanted = {case.id for case in cases}
    links = attempt_links(initiative)
    for link in links:
        if link.earlier_case_id not in wanted:
            db.session.delete(link)
    have = {link.earlier_case_id for link in links}
    for case in cases:
        if case.id not in have:
            db.session.add(SecondAttempt(initiative=initiative, earlier_case=case))
    db.session.flush()


def record_outcome(actor: User, initiative: Initiative, data: dict) -> Initiative:
    """Add a step to the initiative's history (and/or set what it re-attempted)."""
    require(actor, "initiative.edit", initiative)
    values = InitiativeOutcomeSchema().load(data)
    if values["outcome"] is None and values["second_attempt_of"] is None:
        raise ValidationError({"outcome": [N_("Choose an outcome.")]})
    if values["second_attempt_of"] is not None:
        _set_links(initiative, _earlier_cases(actor, values["second_attempt_of"]))
    if values["outcome"] is not None:
        current = current_outcome(initiative)
        outcome_on = values["outcome_on"] or now_utc().date()
        if current is not None and current.outcome in FINAL_OUTCOMES:
            raise ValidationError({"outcome": [N_("The initiative already ended: {outcome} on {date}.").format(
                outcome=current.outcome, date=current.outcome_on.isoformat())]})
        if current is not None and outcome_on < current.outcome_on:
            raise ValidationError({"outcome_on": [N_("The last recorded outcome is of {date}; give that day or a later one.").format(
                date=current.outcome_on.isoformat())]})
        db.session.add(InitiativeOutcome(initiative=initiative, outcome=values["outcome"], outcome_on=outcome_on,
                                         note=values["note"], recorded_by=actor))
    db.session.commit()
    return initiative


def prefilled_case(initiative: Initiative) -> dict:
    """The post-mortem a failed initiative starts from: its own words, sector, markets and dates."""
    steps = history(initiative)
    launched = next((step.outcome_on for step in steps if step.outcome == "launched"), None)
    ended = steps[-1].outcome_on if steps else None
    started = launched or initiative.planned_start or initiative.created_at.date()
    if ended and started > ended:  # outcomes may be recorded for the past, before the registration day
        started = None
    summary = initiative.description if len(initiative.description) <= 5000 else initiative.description[:4997] + "..."
    data = {"title": initiative.title, "summary": summary, "narrative": initiative.description,
            "sector": initiative.sector, "target_markets": list(initiative.target_markets or []),
            "stage_reached": "launched" if launched else "idea",
            "started_on": started.isoformat() if started else None,
            "ended_on": ended.isoformat() if ended else None, "visibility": Visibility.private.value}
    return {key: value for key, value in data.items() if value not in (None, "")}


def create_post_mortem(actor: User, initiative: Initiative, data: dict) -> FailureCase:
    """Turn a failed (or abandoned) initiative into a draft post-mortem linked to what it re-attempted.

    The body may override any case field; `second_attempt_of` defaults to the links recorded on the initiative.
    """
    require(actor, "initiative.post_mortem", initiative)
    current = current_outcome(initiative)
    if current is None or current.outcome not in POST_MORTEM_OUTCOMES:
        raise ZhiguError(N_("Only a failed or abandoned initiative can become a post-mortem: record its outcome first."),
                         409)
    existing = post_mortem_of(initiative)
    if existing is not None:
        raise ZhiguError(N_("This initiative already has a post-mortem (case {id}).").format(id=existing.id), 409)
    request = PostMortemRequestSchema().load(data)
    overrides = {key: value for key, value in data.items() if key != "second_attempt_of"}
    values = FailureCaseSchema().load({**prefilled_case(initiative), **overrides})
    if request["second_attempt_of"] is not None:
        _set_links(initiative, _earlier_cases(actor, request["second_attempt_of"]))
    case = archive_services.draft_case(actor, values)  # as create_case files it; one commit for case and links
    db.session.add(case)
    for link in attempt_links(initiative):
        db.session.add(CaseLink(source=case, target=link.earlier_case, type="second_attempt_of", author=actor,
                                note=f"Post-mortem of initiative {initiative.id}"))
    db.session.add(InitiativePostMortem(initiative=initiative, case=case))
    db.session.commit()
    return case


def second_attempt_of(case: FailureCase) -> list[FailureCase]:
    """The earlier failures a case is linked `second_attempt_of` (issue 4's typed links)."""
    return list(db.session.scalars(select(FailureCase).join(CaseLink, CaseLink.target_id == FailureCase.id)
                                   .where(CaseLink.source_id == case.id, CaseLink.type == "second_attempt_of")
                                   .order_by(FailureCase.id)))


# -- comparisons for the dashboard -------------------------------------------------------------------------

@dataclass
class Rate:
    """A success rate with the counts behind it; `rate` is None when nothing ended (n = 0)."""

    n: int
    succeeded: int
    rate: float | None
    #: Days from start (launch, else registration) to the final outcome: median and its n.
    median_days: float | None
    days_n: int


def _rate(groups: list[tuple[str, int]]) -> Rate:
    n = len(groups)
    succeeded = sum(1 for outcome, _ in groups if outcome == "succeeded")
    days = [d for _, d in groups if d is not None]
    return Rate(n, succeeded, round(succeeded / n, 4) if n else None,
                statistics.median(days) if days else None, len(days))


def compare_attempts(viewer, start: date, end: date, park_id: int | None = None,
                     region: str | None = None) -> dict[str, Rate]:
    """Success rates of initiatives that ended in [start, end]: second vs first attempts, consulted vs not.

    Counted initiatives: those the viewer may aggregate (`initiatives_clause`) whose founder belongs to park
    `park_id`, or to a park of `region` (or inside it), when given.
    An initiative is a second attempt when it re-attempted at least one earlier failure; it consulted the
    archive when its founder marked at least one suggested case relevant.
    """
    visible = (select(Initiative.id, Initiative.created_at).join(User, User.id == Initiative.founder_id)
               .where(initiatives_clause(viewer)))
    if park_id is not None:
        visible = visible.where(User.park_id == park_id)
    if region is not None:
        escaped = region.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        visible = visible.join(Park, Park.id == User.park_id).where(
            or_(Park.region == region, Park.region.like(escaped + "/%", escape="\\")))
    initiatives = {row.id: row.created_at for row in db.session.execute(visible)}
    if not initiatives:
        return {name: _rate([]) for name in ("first", "second", "consulted", "not_consulted")}
    ids = list(initiatives)
    steps: dict[int, list[tuple[str, date]]] = {}
    for initiative_id, outcome, outcome_on in db.session.execute(
            select(InitiativeOutcome.initiative_id, InitiativeOutcome.outcome, InitiativeOutcome.outcome_on)
            .where(InitiativeOutcome.initiative_id.in_(ids))
            .order_by(InitiativeOutcome.outcome_on, InitiativeOutcome.id)):
        steps.setdefault(initiative_id, []).append((outcome, outcome_on))
    second = set(db.session.scalars(select(SecondAttempt.initiative_id).where(SecondAttempt.initiative_id.in_(ids))))
    consulted = set(db.session.scalars(select(Suggestion.initiative_id).where(
        Suggestion.initiative_id.in_(ids), Suggestion.verdict == "relevant")))
    groups: dict[str, list[tuple[str, int | None]]] = {"first": [], "second": [], "consulted": [], "not_consulted": []}
    for initiative_id, history_steps in steps.items():
        outcome, ended_on = history_steps[-1]
        if outcome not in FINAL_OUTCOMES or not start <= ended_on <= end:
            continue
        launched = next((on for o, on in history_steps if o == "launched"), None)
        began = launched or initiatives[initiative_id].date()
        entry = (outcome, (ended_on - began).days if ended_on >= began else None)
        groups["second" if initiative_id in second else "first"].append(entry)
        groups["consulted" if initiative_id in consulted else "not_consulted"].append(entry)
    return {name: _rate(entries) for name, entries in groups.items()}
