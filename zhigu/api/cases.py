"""Cases, causes and search over JSON."""
from flask import jsonify, request, url_for
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from zhigu.api import bp, int_arg, json_body
from zhigu.archive import services
from zhigu.archive.models import Cause, FailureCase
from zhigu.i18n import N_
from zhigu.validation import db_id
from zhigu.search.documents import FACETS
from zhigu.search.services import search_cases


def cause_to_dict(cause: Cause) -> dict:
    return {"code": cause.code, "family": cause.family, "label_en": cause.label_en,
            "label_zh": cause.label_zh, "retired": cause.retired}


@bp.get("/causes")
def list_causes():
    return jsonify([cause_to_dict(c) for c in services.list_causes()])


@bp.post("/cases")
def create_case():
    case = services.create_case(current_user, json_body())
    response = jsonify(services.case_to_dict(case, current_user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_case", case_id=case.id)
    return response


def _case_response(case: FailureCase):
    """The case as JSON, with its version as the ETag (what If-Match names in an edit)."""
    response = jsonify(services.case_to_dict(case, current_user))
    response.set_etag(str(case.version))
    return response


def _if_match() -> int | None:
    """The version an If-Match header names (an ETag of this API, "3" or W/"3"); None without one, or for *."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    tags = request.if_match.as_set(include_weak=True)
    version = db_id(next(iter(tags))) if len(tags) == 1 else None
    if version is None:
        raise BadRequest(N_("If-Match must hold one ETag of this case, as GET sent it (for example \"3\")."))
    return version


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    return _case_response(services.get_case(current_user, case_id))


@bp.patch("/cases/<int:case_id>")
def update_case(case_id: int):
    """Edit a case; a stale "version" (or If-Match) answers 409 with the saved version and the fields that differ."""
    case = services.get_case(current_user, case_id)
    version, data = _if_match(), json_body()
    try:
        case = services.update_case(current_user, case, data, version=version)
    except services.EditConflict as conflict:
        response = jsonify(services.conflict_to_dict(conflict, case, current_user))
        response.status_code = 409
        response.set_etag(str(conflict.version))
        return response
    return _case_response(case)


@bp.post("/cases/<int:case_id>/publish")
def publish_case(case_id: int):
    return _case_response(services.publish_case(current_user, services.get_case(current_user, case_id)))


@bp.post("/cases/<int:case_id>/retract")
def retract_case(case_id: int):
    case = services.get_case(current_user, case_id)
    return _case_response(services.retract_case(current_user, case, json_body()))


@bp.get("/cases/<int:case_id>/revisions")
def case_revisions(case_id: int):
    case = services.get_case(current_user, case_id)
    return jsonify([services.revision_to_dict(r, current_user) for r in case.revisions])


@bp.get("/cases")
def search():
    """Search published cases: q, facet filters (repeatable), page, per_page, sort."""
    filters = {name: request.args.getlist(name) for name in FACETS if request.args.getlist(name)}
    page = search_cases(current_user, request.args.get("q", ""), filters, page=int_arg("page", 1, 1, 10_000),
                        per_page=int_arg("per_page", 20, 1, 100), sort=request.args.get("sort", "relevance"))
    results = []
    for result in page.results:
        item = services.case_to_dict(result.case, current_user)
        item.update(score=result.score, snippet=result.snippet)
        results.append(item)
    return jsonify(results=results, total=page.total, page=page.page, pages=page.pages,
                   did_you_mean=page.did_you_mean,
                   facets={name: [{"value": value, "count": count} for value, count in counts]
                           for name, counts in page.facets.items()})
