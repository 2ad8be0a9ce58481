"""Pages of the review workflow: submit, claim, decide, and the managers' queue."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.services import get_case
from zhigu.auth.permissions import can, require
from zhigu.errors import ZhiguError
from zhigu.forms import form_data, render_form
from zhigu.i18n import N_
from zhigu.reviews import bp, services
from zhigu.reviews.schemas import ReviewDecisionSchema

STATUS_LABELS = {"draft": N_("Draft"), "in_review": N_("In review"), "changes_requested": N_("Changes requested"),
                 "rejected": N_("Rejected"), "published": N_("Published"), "retracted": N_("Retracted")}


@bp.app_template_global()
def review_history(case):
    """The review trail of `case` as the current user may see it (empty for other readers)."""
    return services.history(current_user, case)


@bp.app_template_global()
def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


@bp.post("/cases/<int:case_id>/submit")
@login_required
def submit(case_id: int):
    case = get_case(current_user, case_id)
    try:
        services.submit_case(current_user, case)
    except ValidationError as err:
        flash(services.validation_message(err), "error")
    except ZhiguError as err:
        if err.status_code == 403:
            raise
        flash(err.message, "error")
    else:
        flash(_("The case was submitted for review."), "success")
    return redirect(url_for("archive.detail", case_id=case_id))


@bp.post("/cases/<int:case_id>/claim")
@login_required
def claim(case_id: int):
    case = get_case(current_user, case_id)
    try:
        services.claim_case(current_user, case)
    except ZhiguError as err:
        if err.status_code == 403:
            raise
        flash(err.message, "error")
    else:
        flash(_("You claimed this review."), "success")
    target = request.form.get("next", "")
    if not (target.startswith("/") and not target.startswith("//")):
        target = url_for("reviews.decide", case_id=case_id)
    return redirect(target)


@bp.route("/cases/<int:case_id>/review", methods=["GET", "POST"])
@login_required
def decide(case_id: int):
    case = get_case(current_user, case_id)
    require(current_user, "case.review", case)
    if request.method == "POST":
        try:
            services.review_case(current_user, case, form_data(ReviewDecisionSchema()))
        except ValidationError as err:
            return render_form("reviews/decide.html", err, case=case)
        except ZhiguError as err:
            if err.status_code == 403:
                raise
            flash(err.message, "error")
            return redirect(url_for("archive.detail", case_id=case_id))
        flash(_("Decision recorded: %(decision)s.", decision=status_label(case.status).lower()), "success")
        return redirect(url_for("reviews.queue"))
    return render_form("reviews/decide.html", case=case)


@bp.route("/reviews")
@login_required
def queue():
    require(current_user, "review.queue")
    try:
        items = services.review_queue(current_user, request.args.to_dict())
    except ValidationError as err:
        return render_template("reviews/queue.html", items=[], errors=err.normalized_messages(),
                               form=request.args, show_park=can(current_user, "admin.users")), 422
    return render_template("reviews/queue.html", items=items, errors={}, form=request.args,
                           show_park=can(current_user, "admin.users"))
