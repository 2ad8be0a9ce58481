"""Typed links and merges over JSON: the same services, schemas and rules as the pages."""
from flask import jsonify, request, url_for
from flask_login import current_user

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.archive.api import dump_case
from zhigu.archive.schemas import CaseOutSchema
from zhigu.archive.services import get_case
from zhigu.links import services
from zhigu.links.schemas import CaseLinkSchema, LinkOutSchema
from zhigu.schemas import dump_for

MERGED_CASE = {"allOf": [CaseOutSchema, {"type": "object", "properties": {"merged": {"type": "object", "properties": {
    "duplicate_id": {"type": "integer"}, "kept_id": {"type": "integer"}, "at": {"type": "string"}}}}}]}


@bp.get("/cases/<int:case_id>/links")
@doc(response=LinkOutSchema(many=True), errors=("401", "404"))
def list_links(case_id: int):
    """A case's typed links to cases the caller may see."""
    case = get_case(current_user, case_id)
    return jsonify(dump_for(current_user, LinkOutSchema(many=True), services.links_of(current_user, case),
                            case_id=case.id))


@bp.post("/cases/<int:case_id>/links")
@doc(body=CaseLinkSchema, response=LinkOutSchema, status=201)
def create_link(case_id: int):
    """Link the case to another (same_root_cause, second_attempt_of, duplicate_of, contradicts, related)."""
    link = services.create_link(current_user, get_case(current_user, case_id), json_body())
    return created(dump_for(current_user, LinkOutSchema(), link, case_id=case_id),
                   url_for("api.list_links", case_id=case_id))


@bp.delete("/links/<int:link_id>")
@doc(status=204, errors=("401", "403", "404"))
def delete_link(link_id: int):
    """Remove a link (its author, the park's managers, admins); recorded."""
    services.delete_link(current_user, services.get_link(current_user, link_id))
    return "", 204


@bp.post("/cases/<int:case_id>/merge-into/<int:kept_id>")
@doc(response=MERGED_CASE)
def merge_case(case_id: int, kept_id: int):
    """Merge a duplicate into the kept case (the caller must be allowed to edit both): comments, links and
    subscriptions move, the duplicate redirects; optional body {"reason", "confirm_visibility"}, the latter needed
    (else 422) when more people may open the kept case."""
    body = json_body() if request.content_length else {}
    merge = services.merge_case(current_user, get_case(current_user, case_id), {**body, "kept_id": kept_id})
    merged = {"duplicate_id": merge.duplicate_id, "kept_id": merge.kept_id, "at": merge.created_at.isoformat()}
    return jsonify(dict(dump_case(merge.kept), merged=merged))
