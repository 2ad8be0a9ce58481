"""Link pages: add a link (or accept a suggested one), remove a link, merge a duplicate; merged URLs redirect."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.services import get_case
from zhigu.auth.permissions import require
from zhigu.errors import PermissionDenied, ZhiguError
from zhigu.forms import form_data, render_form
from zhigu.links import bp, services
from zhigu.links.models import LINK_TYPES
from zhigu.links.schemas import CaseLinkSchema, MergeSchema
from zhigu.search.neighbours import neighbours_for
from zhigu.search.services import BadQuery, search_cases
from zhigu.search.similar import similar_to_case
from zhigu.validation import db_id
from zhigu.views import flash_error

#: Pages of a case whose URL follows a merge to the kept case.
REDIRECTED_ENDPOINTS = {"archive.detail": "archive.detail", "api.get_case": "api.get_case"}


@bp.before_app_request
def follow_merges():
    """A merged duplicate's URL redirects (301) to the case it was merged into, for readers who may open both;
    for others it is a 404 like an unknown id's."""
    if request.method in ("GET", "HEAD") and request.endpoint in REDIRECTED_ENDPOINTS:
        case_id = (request.view_args or {}).get("case_id")
        kept = services.merge_redirect(current_user, case_id) if case_id else None
        if kept is not None:
            response = redirect(url_for(REDIRECTED_ENDPOINTS[request.endpoint], case_id=kept), 301)
            # who is redirected depends on who asks: no shared cache may replay it to someone else
            response.headers["Cache-Control"] = "private"
            response.vary.add("Cookie")
            return response
    return None


@bp.app_template_global()
def case_links(case):
    return services.links_of(current_user, case)


@bp.app_template_global()
def link_suggestions(case, similar):
    return services.suggestions(current_user, case, similar or [])


@bp.app_template_global()
def mergeable_ids(case, results) -> set[int]:
    """Ids of the similar cases (search results) the current user could merge `case` into."""
    return {other.id for other in services.merge_candidates(current_user, case, [r.case for r in results])}


@bp.app_template_global()
def link_type_options(forward: bool = True):
    return [(code, _(labels[0])) for code, labels in LINK_TYPES.items()]


@bp.route("/cases/<int:case_id>/links", methods=["GET", "POST"])
@login_required
def create(case_id: int):
    """Link a case to another, picked among its similar cases or found by a search."""
    case = get_case(current_user, case_id)
    require(current_user, "link.create", case)
    if request.method == "POST":
        try:
            link = services.create_link(current_user, case, form_data(CaseLinkSchema()))
        except ValidationError as err:
            return render_form("links/form.html", err, **_link_choices(case))
        flash(_("Linked: %(kind)s “%(title)s”.", kind=link.label(case.id), title=link.target.title), "success")
        return redirect(url_for("archive.detail", case_id=case.id, _anchor="links-heading"))
    return render_form("links/form.html", **_link_choices(case))


@bp.post("/links/<int:link_id>/delete")
@login_required
def delete(link_id: int):
    link = services.get_link(current_user, link_id)
    back = db_id(request.form.get("case_id", ""))
    back = back if back in (link.source_id, link.target_id) else link.source_id
    services.delete_link(current_user, link)
    flash(_("The link was removed."), "success")
    return redirect(url_for("archive.detail", case_id=back, _anchor="links-heading"))


def _picker_choices(case, field: str, suggested, candidates) -> dict:
    """What a case picker (templates/links/_picker.html) offers: the `suggested` cases, the cases found by its
    search box (`q`), and the case already chosen in `field` (followed from a link, or the one posted).
    `candidates(cases)` keeps those the page may offer, in order; the service checks the choice again."""
    query = request.args.get("q", "").strip()
    found, search_error = [], None
    if query:
        try:
            results = search_cases(current_user, query, per_page=10).results
        except BadQuery as err:
            search_error = err.message
        else:
            found = [other for other in candidates([r.case for r in results]) if other not in suggested]
    chosen_id = db_id(request.form.get(field, "") or request.args.get(field, ""))
    offered = {other.id for other in suggested + found}
    chosen = None
    if chosen_id and chosen_id not in offered:
        target = services.merge_target(current_user, chosen_id)
        chosen = (candidates([target]) or [None])[0] if target else None
    return {"case": case, "query": query, "suggested": suggested, "found": found, "search_error": search_error,
            "chosen": chosen, "chosen_id": chosen_id}


def _similar(case, limit: int) -> list:
    """The cases most like `case` the reader may open: the stored list of a published case when the reader has
    one (zhigu.search.neighbours), else (a draft, say) the live query."""
    if case.is_published:
        return neighbours_for(case, current_user, limit)
    return similar_to_case(current_user, case, limit=limit)


def _link_choices(case) -> dict:
    """The link form's choices of the other case: similar cases not linked yet, or any the search finds."""
    def candidates(cases):
        return services.link_candidates(current_user, case, cases)
    similar = services.suggestions(current_user, case, _similar(case, 8))
    return _picker_choices(case, "target_id", candidates(similar), candidates)


def _merge_choices(case) -> dict:
    """The merge page's choices of the case to keep: its likely duplicates, or any the search finds."""
    def candidates(cases):
        return services.merge_candidates(current_user, case, cases)
    similar = [result.case for result in _similar(case, 5)]
    return _picker_choices(case, "kept_id", candidates(similar), candidates)


@bp.route("/cases/<int:case_id>/merge", methods=["GET", "POST"])
@login_required
def merge(case_id: int):
    """Merge a duplicate: the case to keep is picked among its likely duplicates or found by a search."""
    case = get_case(current_user, case_id)
    require(current_user, "case.merge", case)
    if request.method == "POST":
        try:
            merge = services.merge_case(current_user, case, form_data(MergeSchema()))
        except ValidationError as err:
            return render_form("links/merge.html", err, **_merge_choices(case))
        except PermissionDenied as err:  # the case to keep is one the manager may not edit
            page, _status = render_form("links/merge.html", ValidationError({"kept_id": [err.raw_message]}),
                                        **_merge_choices(case))
            return page, 403
        except ZhiguError as err:  # no longer mergeable (merged meanwhile, ...): said on the case's page
            flash_error(err)
            return redirect(url_for("archive.detail", case_id=case.id))
        flash(_("“%(title)s” was merged into this case.", title=case.title), "success")
        return redirect(url_for("archive.detail", case_id=merge.kept_id))
    return render_form("links/merge.html", **_merge_choices(case))
