"""Pages: record an initiative's outcome and what it re-attempted; turn a failed one into a post-mortem."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.attempts import bp, services
from zhigu.attempts.schemas import InitiativeOutcomeSchema
from zhigu.auth.permissions import can
from zhigu.forms import form_data
from zhigu.i18n import translate_messages
from zhigu.initiatives import services as initiative_services
from zhigu.views import flash_errors


@bp.app_template_global()
def attempt_panel(initiative) -> dict:
    """What the initiative page shows of outcomes, re-attempted failures and the post-mortem."""
    steps = services.history(initiative)
    return {"steps": steps, "current": steps[-1] if steps else None,
            "links": services.attempt_links(initiative), "post_mortem": services.post_mortem_of(initiative),
            "may_post_mortem": bool(steps) and steps[-1].outcome in services.POST_MORTEM_OUTCOMES
            and can(current_user, "initiative.post_mortem", initiative)}


@bp.post("/initiatives/<int:initiative_id>/outcome")
@login_required
def record_outcome(initiative_id: int):
    initiative = initiative_services.get_initiative(current_user, initiative_id)
    try:
        services.record_outcome(current_user, initiative, form_data(InitiativeOutcomeSchema()))
    except ValidationError as err:
        return render_template("initiatives/detail.html", initiative=initiative, errors={},
                               suggestions=initiative_services.visible_suggestions(current_user, initiative),
                               outcome_errors=translate_messages(err.normalized_messages()),
                               outcome_form=request.form), 422
    flash(_("The initiative was updated."), "success")
    return redirect(url_for("initiatives.detail", initiative_id=initiative.id, _anchor="outcome"))


@bp.post("/initiatives/<int:initiative_id>/post-mortem")
@login_required
@flash_errors(to=lambda initiative_id: url_for("initiatives.detail", initiative_id=initiative_id, _anchor="outcome"))
def post_mortem(initiative_id: int):
    initiative = initiative_services.get_initiative(current_user, initiative_id)
    case = services.create_post_mortem(current_user, initiative, {})
    flash(_("A draft post-mortem was filled in from your initiative: complete it, choose its causes, and publish."),
          "success")
    return redirect(url_for("archive.edit", case_id=case.id))
