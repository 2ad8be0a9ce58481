"""Pages of the review workflow: submit, claim, decide, and the managers' queue."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.models import CaseStatus
from zhigu.archive.services import get_case
from zhigu.auth.permissions import can, require
from zhigu.auth.services import list_parks
from zhigu.forms import form_data, render_form
from zhigu.reviews import bp, services
from zhigu.reviews.schemas import ReviewDecisionSchema
from zhigu.search.similar import similar_to_case
from zhigu.views import flash_errors


@bp.app_template_global()
def review_history(case):
    """The review trail of `case` as the current user may see it (empty for other readers)."""
    return services.history(current_user, case)


@bp.post("/cases/<int:case_id>/submit")
@login_required
@flash_errors(to=lambda case_id: url_for("archive.detail", case_id=case_id))
def submit(case_id: int):
    services.submit_case(current_user, get_case(current_user, case_id))
    flash(_("The case was submitted for review."), "success")
    return redirect(url_for("archive.detail", case_id=case_id))


def _next_or_decide(case_id: int) -> str:
    """The page the claim was made from (a local path only), else the decision page."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("reviews.decide", case_id=case_id)


@bp.post("/cases/<int:case_id>/claim")
@login_required
@flash_errors(to=_next_or_decide)
def claim(case_id: int):
    services.claim_case(current_user, get_case(current_user, case_id))
    flash(_("You claimed this review."), "success")
    return redirect(_next_or_decide(case_id))


@bp.route("/cases/<int:case_id>/review", methods=["GET", "POST"])
@login_required
@flash_errors(to=lambda case_id: url_for("archive.detail", case_id=case_id))
def decide(case_id: int):
    case = get_case(current_user, case_id)
    require(current_user, "case.review", case)
    if request.method == "POST":
        try:
            services.review_case(current_user, case, form_data(ReviewDecisionSchema()))
        except ValidationError as err:
            return render_form("reviews/decide.html", err, case=case, duplicates=_likely_duplicates(case))
        flash(_("Decision recorded: %(decision)s.", decision=str(CaseStatus(case.status).label).lower()), "success")
        return redirect(url_for("reviews.queue"))
    return render_form("reviews/decide.html", case=case, duplicates=_likely_duplicates(case))


def _likely_duplicates(case) -> list:
    """The published cases most like the one under review, which the reviewer may open (search results)."""
    return similar_to_case(current_user, case, limit=5)


@bp.route("/reviews")
@login_required
def queue():
    require(current_user, "review.queue")
    # an admin reviews every park's queue and picks a park by name
    parks = [(park.slug, park.name) for park in list_parks()] if can(current_user, "admin.users") else None
    try:
        items = services.review_queue(current_user, request.args.to_dict())
    except ValidationError as err:
        return render_template("reviews/queue.html", items=[], errors=err.normalized_messages(),
                               form=request.args, show_park=parks is not None, parks=parks), 422
    return render_template("reviews/queue.html", items=items, errors={}, form=request.args,
                           show_park=parks is not None, parks=parks)
