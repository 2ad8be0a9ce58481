"""Organizations and the guild-reviewed red and black lists over JSON: the same services as the pages."""
from flask import jsonify, request, url_for
from flask_login import current_user
from marshmallow import fields, post_dump
from werkzeug.exceptions import BadRequest

from zhigu.api import bp, created, json_body
from zhigu.api.openapi import doc
from zhigu.archive.schemas import case_url
from zhigu.guilds import services
from zhigu.guilds.models import LIST_CHOICE_ERROR, LISTING_STATUSES, LISTS
from zhigu.guilds.schemas import (AppealSchema, DecisionSchema, ListingSchema, OrganizationOutSchema, RenewalSchema,
                                  ReplySchema, WithdrawSchema)
from zhigu.schemas import OutputSchema, dump_for

LIST_PARAMETER = {"name": "list", "in": "query", "schema": {"type": "string", "enum": list(LISTS)}}
STEP_REFUSED = {"409": {"description": "The listing is not in a state that allows this step"}}
STEP_ERRORS = ("401", "403", "404", "422")


class EvidenceOutSchema(OutputSchema):
    """A case of the archive (case_id, title, url) or a link elsewhere (url only)."""

    case_id = fields.Int()
    title = fields.Str(attribute="case.title")
    url = fields.Function(lambda e: case_url(e.case) if e.case_id else e.url)

    @post_dump(pass_original=True)
    def link_only(self, data, evidence, **kwargs):
        return data if evidence.case_id else {"url": data["url"]}


class ListingEventOutSchema(OutputSchema):
    action = fields.Str()
    actor = fields.Function(lambda e: e.actor.display_name if e.actor else None, allow_none=True,
                            metadata={"type": "string"})
    details = fields.Dict()
    at = fields.DateTime(attribute="created_at")


class GuildRefOutSchema(OutputSchema):
    slug = fields.Str()
    name = fields.Str()


class ListingOutSchema(OutputSchema):
    """A listing; `evidence` leaves out cases no longer fit to show, `audit` is for the guild's reviewers and admins.

    Here, not in schemas.py: which evidence is shown is a service's rule (services.visible_evidence).
    """

    id = fields.Int()
    list_ = fields.Str(attribute="list_name", data_key="list", metadata={"enum": list(LISTS)})
    status = fields.Str(metadata={"enum": list(LISTING_STATUSES)})
    organization = fields.Nested(OrganizationOutSchema)
    guild = fields.Nested(GuildRefOutSchema)
    justification = fields.Str()
    evidence = fields.Function(lambda listing: EvidenceOutSchema(many=True).dump(services.visible_evidence(listing)),
                               metadata={"type": "array", "items": {"type": "object"}})
    reply = fields.Str(allow_none=True)
    replied_at = fields.DateTime(allow_none=True)
    appeal_reason = fields.Str(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    url = fields.Function(lambda listing: url_for("guilds.listing", listing_id=listing.id, _external=True))
    audit = fields.List(fields.Nested(ListingEventOutSchema), attribute="events",
                        metadata={"description": "Every step; only for the guild's reviewers and admins "
                                                 "(guilds.services.shown_listing)."})

    @post_dump
    def audit_only_when_shown(self, data, **kwargs):
        if data.get("audit") is None:
            data.pop("audit", None)
        return data


def _listing(listing):
    return jsonify(dump_for(current_user, ListingOutSchema(), listing))


@bp.get("/organizations")
@doc(response=OrganizationOutSchema(many=True), errors=())
def list_organizations():
    """Organization profiles."""
    return jsonify(OrganizationOutSchema(many=True).dump(services.list_organizations()))


@bp.get("/listings")
@doc(response=ListingOutSchema(many=True), errors=("400",), parameters=[LIST_PARAMETER])
def list_listings():
    """The current (published, unexpired) red and black lists; ?list=red|black."""
    list_ = request.args.get("list") or None
    if list_ is not None and list_ not in LISTS:
        raise BadRequest(LIST_CHOICE_ERROR)
    # the public lists: nobody's audit trail, whoever asks
    return jsonify(dump_for(None, ListingOutSchema(many=True), services.current_listings(list_)))


@bp.get("/listings/<int:listing_id>")
@doc(response=ListingOutSchema, errors=("401", "404"))
def get_listing(listing_id: int):
    """Read a listing (proposals: the guild's reviewers and admins)."""
    return _listing(services.get_listing(current_user, listing_id))


@bp.post("/listings")
@doc(body=ListingSchema, response=ListingOutSchema, status=201)
def propose_listing():
    """Propose a listing (a guild's reviewer); published once a second reviewer confirms."""
    listing = services.propose_listing(current_user, json_body())
    return created(dump_for(current_user, ListingOutSchema(), listing),
                   url_for("api.get_listing", listing_id=listing.id))


@bp.post("/listings/<int:listing_id>/confirm")
@doc(body=DecisionSchema, response=ListingOutSchema, errors=STEP_ERRORS, responses=STEP_REFUSED)
def confirm_listing(listing_id: int):
    """Confirm a proposal, or uphold an appealed listing (another reviewer of the guild, with a reason)."""
    listing = services.get_listing(current_user, listing_id)
    return _listing(services.confirm_listing(current_user, listing, json_body() if request.content_length else {}))


@bp.post("/listings/<int:listing_id>/reply")
@doc(body=ReplySchema, response=ListingOutSchema, errors=STEP_ERRORS, responses=STEP_REFUSED)
def reply_to_listing(listing_id: int):
    """Post the organization's reply (its representative)."""
    listing = services.get_listing(current_user, listing_id)
    return _listing(services.reply_to_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/appeal")
@doc(body=AppealSchema, response=ListingOutSchema, errors=STEP_ERRORS, responses=STEP_REFUSED)
def appeal_listing(listing_id: int):
    """Appeal a published listing (its representative); review re-opens."""
    listing = services.get_listing(current_user, listing_id)
    return _listing(services.appeal_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/renew")
@doc(body=RenewalSchema, response=ListingOutSchema, errors=STEP_ERRORS, responses=STEP_REFUSED)
def renew_listing(listing_id: int):
    """Renew a published listing with fresh evidence (the guild's reviewers)."""
    listing = services.get_listing(current_user, listing_id)
    return _listing(services.renew_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/withdraw")
@doc(body=WithdrawSchema, response=ListingOutSchema, errors=STEP_ERRORS, responses=STEP_REFUSED)
def withdraw_listing(listing_id: int):
    """Withdraw a listing (the guild's reviewers, admins)."""
    listing = services.get_listing(current_user, listing_id)
    return _listing(services.withdraw_listing(current_user, listing, json_body()))
