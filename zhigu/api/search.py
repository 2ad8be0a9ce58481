"""`GET /api/v1/cases`: search over JSON.

Here, not in zhigu.archive.api: search imports the archive, never the reverse (and zhigu.search keeps its own
interface to the engine).
"""
from flask import jsonify, request
from flask_login import current_user

from zhigu.api import bp, int_arg
from zhigu.api.openapi import doc
from zhigu.archive.schemas import CaseOutSchema
from zhigu.schemas import dump_for
from zhigu.search.documents import FACETS
from zhigu.search.services import search_cases

SEARCH_PARAMETERS = (
    [{"name": name, "in": "query", "schema": {"type": "string"}}
     for name in ("q", "cause", "family", "sector", "region", "market", "stage", "year", "language", "sort")]
    + [{"name": name, "in": "query", "schema": {"type": "integer"}} for name in ("page", "per_page")])
SEARCH_PAGE = {"type": "object", "properties": {
    "results": {"type": "array", "items": {"allOf": [CaseOutSchema, {"type": "object", "properties": {
        "score": {"type": "number"}, "snippet": {"type": "string", "nullable": True}}}]}},
    "total": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"},
    "did_you_mean": {"type": "string", "nullable": True}, "facets": {"type": "object"}}}


@bp.get("/cases")
@doc(response=SEARCH_PAGE, errors=("400",), parameters=SEARCH_PARAMETERS)
def search():
    """Search published cases: q, facet filters (repeatable), page, per_page, sort."""
    filters = {name: request.args.getlist(name) for name in FACETS if request.args.getlist(name)}
    page = search_cases(current_user, request.args.get("q", ""), filters, page=int_arg("page", 1, 1, 10_000),
                        per_page=int_arg("per_page", 20, 1, 100), sort=request.args.get("sort", "relevance"))
    case_schema = CaseOutSchema()
    results = [dict(dump_for(current_user, case_schema, result.case), score=result.score, snippet=result.snippet)
               for result in page.results]
    return jsonify(results=results, total=page.total, page=page.page, pages=page.pages,
                   did_you_mean=page.did_you_mean,
                   facets={name: [{"value": value, "count": count} for value, count in counts]
                           for name, counts in page.facets.items()})
