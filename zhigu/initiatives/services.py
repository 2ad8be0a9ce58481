"""Register initiatives, suggest similar past failures, and record founders' verdicts."""
from marshmallow import ValidationError
from sqlalchemy import select

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.auth.permissions import can, require
from zhigu.db import now_utc
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.initiatives.models import Initiative, Suggestion
from zhigu.initiatives.schemas import FeedbackSchema, InitiativeSchema, SimilarRequestSchema
from zhigu.search.similar import similar_cases
from zhigu.trimming import Shown, trims
from zhigu.visibility import get_visible


def find_similar(viewer, data: dict):
    """Validate a similar-cases request and run it for the viewer (visitors see public cases only)."""
    values = SimilarRequestSchema().load(data)
    return similar_cases(viewer, description=values["description"], title=values["title"],
                         sector=values["sector"], markets=values["target_markets"],
                         causes=values["causes"], exclude_id=values["exclude_id"], limit=values["limit"])


def register_initiative(actor, data: dict, limit: int = 10) -> Initiative:
    """Save the initiative and the similar failures shown for it, so verdicts can refer to them."""
    require(actor, "initiative.create")
    values = InitiativeSchema().load(data)
    initiative = Initiative(founder=actor, **values)
    db.session.add(initiative)
    results = similar_cases(actor, description=initiative.description, title=initiative.title,
                            sector=initiative.sector, markets=initiative.target_markets, limit=limit)
    for rank, result in enumerate(results, start=1):
        initiative.suggestions.append(Suggestion(case=result.case, rank=rank, score=result.score, why=result.why))
    db.session.commit()
    return initiative


def get_initiative(actor, initiative_id: int) -> Initiative:
    """Load an initiative the actor may see; the same 404 when it does not exist or is hidden from them."""
    return get_visible(actor, Initiative, initiative_id, "initiative.view", message=N_("No such initiative."))


def initiatives_of(actor) -> list[Initiative]:
    return list(db.session.scalars(
        select(Initiative).where(Initiative.founder_id == actor.id).order_by(Initiative.created_at.desc())))


def visible_suggestions(actor, initiative: Initiative) -> list[Suggestion]:
    """Suggestions whose case the founder may still open (a case may since be retracted or hidden)."""
    return [s for s in initiative.suggestions
            if s.case.status == CaseStatus.published and can(actor, "case.view", s.case)]


@trims(Initiative)
def shown_initiative(viewer, initiative: Initiative) -> Shown:
    """An initiative with only the suggestions whose case the viewer may still open."""
    return Shown(initiative, suggestions=visible_suggestions(viewer, initiative))


def record_feedback(actor, initiative: Initiative, data: dict) -> Suggestion:
    """Store the founder's verdict on a case for this initiative; a later verdict replaces an earlier one."""
    require(actor, "initiative.feedback", initiative)
    values = FeedbackSchema().load(data)
    case = db.session.get(FailureCase, values["case_id"])
    if case is None or not can(actor, "case.view", case):
        raise ValidationError({"case_id": [N_("No such case.")]})
    suggestion = next((s for s in initiative.suggestions if s.case_id == case.id), None)
    if suggestion is None:
        suggestion = Suggestion(case=case, rank=None, score=None, why={})
        initiative.suggestions.append(suggestion)
    suggestion.verdict = values["verdict"]
    suggestion.note = values["note"] if values["verdict"] == "relevant" else ""
    suggestion.verdict_at = now_utc()
    db.session.commit()
    return suggestion


def verdict_judgments() -> list[tuple[Initiative, dict[int, int]]]:
    """Initiatives with at least one verdict, each with {case id: grade} (relevant 2, not relevant 0).

    Founders' verdicts are the archive's own relevance judgments: bench/verdicts.py scores the ranking on them.
    """
    judged = db.session.scalars(select(Suggestion).where(Suggestion.verdict.is_not(None))
                                .order_by(Suggestion.initiative_id, Suggestion.id))
    by_initiative: dict[int, tuple[Initiative, dict[int, int]]] = {}
    for suggestion in judged:
        _, grades = by_initiative.setdefault(suggestion.initiative_id, (suggestion.initiative, {}))
        grades[suggestion.case_id] = 2 if suggestion.verdict == "relevant" else 0
    return list(by_initiative.values())
