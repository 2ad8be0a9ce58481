"""Pages where founders register initiatives, see similar failures and give verdicts."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.forms import form_data, render_form
from zhigu.i18n import translate_messages
from zhigu.initiatives import bp, services
from zhigu.initiatives.schemas import FeedbackSchema, InitiativeSchema, SimilarRequestSchema


@bp.route("/similar", methods=["GET", "POST"])
def similar():
    """Anyone describes a plan and sees the similar failures they may open (visitors: public cases only).

    Registering the initiative and recording verdicts need an account; this page only looks. Without script
    the form posts here and the list comes back with the page; with it, the list fills in while typing.
    """
    results = None
    if request.method == "POST":
        try:
            results = services.find_similar(current_user, form_data(SimilarRequestSchema()))
        except ValidationError as err:
            return render_form("initiatives/similar.html", err, results=None)
    return render_template("initiatives/similar.html", errors={}, form=request.form, results=results)


@bp.route("/initiatives/new", methods=["GET", "POST"])
@login_required
def create():
    if request.method == "POST":
        try:
            initiative = services.register_initiative(current_user, form_data(InitiativeSchema()))
        except ValidationError as err:
            return render_form("initiatives/form.html", err)
        return redirect(url_for("initiatives.detail", initiative_id=initiative.id))
    return render_form("initiatives/form.html")


@bp.route("/initiatives/<int:initiative_id>")
@login_required
def detail(initiative_id: int):
    initiative = services.get_initiative(current_user, initiative_id)
    return render_template("initiatives/detail.html", initiative=initiative,
                           suggestions=services.visible_suggestions(current_user, initiative), errors={})


@bp.post("/initiatives/<int:initiative_id>/feedback")
@login_required
def feedback(initiative_id: int):
    initiative = services.get_initiative(current_user, initiative_id)
    try:
        services.record_feedback(current_user, initiative, form_data(FeedbackSchema()))
    except ValidationError as err:
        errors = translate_messages(err.normalized_messages())
        if "verdict" in errors:  # said next to the two choices, in words about them
            errors["verdict"] = [_("Choose “Relevant” or “Not relevant”.")]
        return render_template("initiatives/detail.html", initiative=initiative,
                               suggestions=services.visible_suggestions(current_user, initiative),
                               errors=errors, form=request.form), 422
    flash(_("Thank you: your verdict was recorded."), "success")
    return redirect(url_for("initiatives.detail", initiative_id=initiative.id,
                            _anchor=f"case-{request.form.get('case_id')}"))


@bp.route("/my/initiatives")
@login_required
def my_initiatives():
    return render_template("initiatives/my_initiatives.html", initiatives=services.initiatives_of(current_user))
