"""Pages of the archive: the list, a case, the case form, publish, retract, "my cases", the taxonomy admin."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError
from sqlalchemy.orm.exc import StaleDataError

from zhigu.archive import bp, services
from zhigu.archive.models import CaseStatus, Visibility
from zhigu.archive.schemas import CauseSchema, FailureCaseSchema, RetractSchema
from zhigu.auth.permissions import require
from zhigu.errors import ZhiguError
from zhigu.forms import form_data, render_form
from zhigu.i18n import N_
from zhigu.views import flash_errors

# templates compare and label statuses and visibilities through the enums, never through literals
bp.add_app_template_global(CaseStatus, "CaseStatus")
bp.add_app_template_global(Visibility, "Visibility")


@bp.app_template_global()
def status_label(status: str) -> str:
    """Label of a case status in the page language."""
    try:
        return str(CaseStatus(status).label)
    except ValueError:
        return status


def _form_context(case=None) -> dict:
    """The case form's choices: causes in use, plus retired ones the case still has (so saving keeps them)."""
    causes = services.list_causes(include_retired=False)
    if case is not None:
        causes += [cause for cause in case.causes if cause.retired]
    return {"case": case, "causes": causes, "base": services.edit_base(case) if case is not None else None}


@bp.app_errorhandler(StaleDataError)
def saved_meanwhile(err):
    """A write based on a version of a case that another request has since saved over: 409, nothing written.

    The use cases of this package hold the case's row and see no such thing; this catches the paths that don't.
    """
    services.discard_changes()
    return current_app.handle_user_exception(ZhiguError(
        N_("Someone else changed this case at the same moment. Reload the page and try again."), 409))


@bp.route("/cases")
def index():
    """The archive: published cases the viewer may open, newest first, with facets."""
    args = request.args.to_dict(flat=False)
    args.setdefault("sort", "newest")
    return redirect(url_for("search.search", **args))


@bp.route("/cases/<int:case_id>")
def detail(case_id: int):
    # the similar cases come from zhigu.search's `similar_cases_of`, which the page calls: the archive knows no engine
    return render_template("archive/detail.html", case=services.get_case(current_user, case_id))


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def create():
    require(current_user, "case.create")
    if request.method == "POST":
        try:
            case = services.create_case(current_user, form_data(FailureCaseSchema()),
                                        publish=request.form.get("action") == "publish")
        except ValidationError as err:
            return render_form("archive/form.html", err, **_form_context())
        flash(_("The case was published.") if case.is_published else _("The draft was saved."), "success")
        return redirect(url_for("archive.detail", case_id=case.id))
    return render_form("archive/form.html", **_form_context())


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    case = services.get_case(current_user, case_id)
    require(current_user, "case.edit", case)
    if request.method == "POST":
        try:
            services.update_case(current_user, case, form_data(FailureCaseSchema()), base=request.form.get("base"))
            if request.form.get("action") == "publish" and case.status == CaseStatus.draft:
                services.publish_case(current_user, case)
        except ValidationError as err:
            return render_form("archive/form.html", err, **_form_context(case))
        except services.EditConflict as conflict:
            # the form keeps what the user typed, now based on the saved version: saving again keeps theirs
            return render_template("archive/form.html", errors={}, form=request.form, conflict=conflict,
                                   **_form_context(case)), 409
        flash(_("The case was saved."), "success")
        return redirect(url_for("archive.detail", case_id=case.id))
    return render_form("archive/form.html", **_form_context(case))


@bp.post("/cases/<int:case_id>/publish")
@login_required
@flash_errors(to=lambda case_id: url_for("archive.detail", case_id=case_id))
def publish(case_id: int):
    services.publish_case(current_user, services.get_case(current_user, case_id))
    flash(_("The case was published."), "success")
    return redirect(url_for("archive.detail", case_id=case_id))


@bp.route("/cases/<int:case_id>/retract", methods=["GET", "POST"])
@login_required
def retract(case_id: int):
    case = services.get_case(current_user, case_id)
    require(current_user, "case.retract", case)
    if request.method == "POST":
        try:
            services.retract_case(current_user, case, form_data(RetractSchema()))
        except ValidationError as err:
            return render_form("archive/retract.html", err, case=case)
        flash(_("The case was retracted."), "success")
        return redirect(url_for("archive.detail", case_id=case.id))
    return render_form("archive/retract.html", case=case)


@bp.route("/my/cases")
@login_required
def my_cases():
    return render_template("archive/my_cases.html", cases=services.cases_by_author(current_user))


@bp.route("/admin/causes", methods=["GET", "POST"])
@login_required
def admin_causes():
    require(current_user, "admin.causes")
    if request.method == "POST":
        try:
            cause = services.create_cause(current_user, form_data(CauseSchema()))
        except ValidationError as err:
            return render_form("archive/admin_causes.html", err, causes=services.list_causes())
        flash(_("Cause %(code)s was added.", code=cause.code), "success")
        return redirect(url_for("archive.admin_causes"))
    return render_form("archive/admin_causes.html", causes=services.list_causes())


@bp.route("/admin/causes/<int:cause_id>", methods=["GET", "POST"])
@login_required
def admin_edit_cause(cause_id: int):
    require(current_user, "admin.causes")
    cause = services.get_cause(cause_id)
    if request.method == "POST":
        try:
            services.update_cause(current_user, cause, form_data(CauseSchema(partial=True)))
        except ValidationError as err:
            return render_form("archive/admin_cause_form.html", err, cause=cause)
        flash(_("Cause %(code)s was updated.", code=cause.code), "success")
        return redirect(url_for("archive.admin_causes"))
    return render_form("archive/admin_cause_form.html", cause=cause)
