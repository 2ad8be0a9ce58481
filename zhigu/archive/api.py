"""Cases, causes and search over JSON: the same services and schemas as the pages."""
from flask import jsonify, request, url_for
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.archive import services
from zhigu.archive.models import FailureCase
from zhigu.archive.schemas import (CaseOutSchema, CauseSchema, ConflictOutSchema, FailureCaseSchema,
                                   RetractSchema, RevisionOutSchema)
from zhigu.i18n import N_
from zhigu.schemas import dump_for
from zhigu.validation import db_id

IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The case's version as its ETag gave it (or send \"version\")."}


def dump_case(case: FailureCase) -> dict:
    """The case as the API answers it to the caller (what they may not see of it left out)."""
    return dump_for(current_user, CaseOutSchema(), case)


@bp.get("/causes")
@doc(response=CauseSchema(many=True), errors=())
def list_causes():
    """The cause taxonomy."""
    return jsonify(CauseSchema(many=True).dump(services.list_causes()))


@bp.post("/cases")
@doc(body=FailureCaseSchema, response=CaseOutSchema, status=201)
def create_case():
    """File a post-mortem (as a draft)."""
    case = services.create_case(current_user, json_body())
    return created(dump_case(case), url_for("api.get_case", case_id=case.id))


def _case_response(case: FailureCase):
    """The case as JSON, with its version as the ETag (what If-Match names in an edit)."""
    response = jsonify(dump_case(case))
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
@doc(response=CaseOutSchema, errors=("401", "404"))
def get_case(case_id: int):
    """Read a case."""
    return _case_response(services.get_case(current_user, case_id))


@bp.patch("/cases/<int:case_id>")
@doc(body=FailureCaseSchema, response=CaseOutSchema, parameters=[IF_MATCH],
     responses={"409": {"description": "Saved since the version the edit started from",
                        "content": {"application/json": {"schema": ConflictOutSchema}}}})
def update_case(case_id: int):
    """Edit a case (published cases keep a revision); 409 when based on an older version.

    A stale "version" (or If-Match) answers 409 with the saved version and the fields that differ.
    """
    case = services.get_case(current_user, case_id)
    version, data = _if_match(), json_body()
    try:
        case = services.update_case(current_user, case, data, version=version)
    except services.EditConflict as conflict:
        response = jsonify(dump_for(current_user, ConflictOutSchema(), conflict))
        response.status_code = 409
        response.set_etag(str(conflict.version))
        return response
    return _case_response(case)


@bp.post("/cases/<int:case_id>/publish")
@doc(response=CaseOutSchema)
def publish_case(case_id: int):
    """Publish a draft."""
    return _case_response(services.publish_case(current_user, services.get_case(current_user, case_id)))


@bp.post("/cases/<int:case_id>/retract")
@doc(body=RetractSchema, response=CaseOutSchema)
def retract_case(case_id: int):
    """Retract a published case."""
    case = services.get_case(current_user, case_id)
    return _case_response(services.retract_case(current_user, case, json_body()))


@bp.get("/cases/<int:case_id>/revisions")
@doc(response=RevisionOutSchema(many=True), errors=("401", "404"))
def case_revisions(case_id: int):
    """A case's revisions, newest first: who, when, and each changed field's old and new value."""
    case = services.get_case(current_user, case_id)
    return jsonify(dump_for(current_user, RevisionOutSchema(many=True), case.revisions))
