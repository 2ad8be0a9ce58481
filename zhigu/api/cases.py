"""Cases, causes and search over JSON."""
from flask import jsonify, request, url_for
from flask_login import current_user

from zhigu.api import bp, int_arg, json_body
from zhigu.archive import services
from zhigu.archive.models import Cause
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


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    return jsonify(services.case_to_dict(services.get_case(current_user, case_id), current_user))


@bp.patch("/cases/<int:case_id>")
def update_case(case_id: int):
    case = services.get_case(current_user, case_id)
    case = services.update_case(current_user, case, json_body())
    return jsonify(services.case_to_dict(case, current_user))


@bp.post("/cases/<int:case_id>/publish")
def publish_case(case_id: int):
    case = services.publish_case(current_user, services.get_case(current_user, case_id))
    return jsonify(services.case_to_dict(case, current_user))


@bp.post("/cases/<int:case_id>/retract")
def retract_case(case_id: int):
    case = services.get_case(current_user, case_id)
    case = services.retract_case(current_user, case, json_body())
    return jsonify(services.case_to_dict(case, current_user))


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
