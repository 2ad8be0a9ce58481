"""Organizations and the guild-reviewed red and black lists over JSON: the same services as the pages."""
from flask import jsonify, request, url_for
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from zhigu.api import bp, json_body
from zhigu.guilds import services
from zhigu.guilds.models import LIST_CHOICE_ERROR, LISTS


@bp.get("/organizations")
def list_organizations():
    return jsonify([services.organization_to_dict(org) for org in services.list_organizations()])


@bp.get("/listings")
def list_listings():
    """The current (published, unexpired) listings; ?list=red|black."""
    list_ = request.args.get("list") or None
    if list_ is not None and list_ not in LISTS:
        raise BadRequest(LIST_CHOICE_ERROR)
    return jsonify([services.listing_to_dict(listing) for listing in services.current_listings(list_)])


@bp.get("/listings/<int:listing_id>")
def get_listing(listing_id: int):
    listing = services.get_listing(current_user, listing_id)
    return jsonify(services.listing_to_dict(listing, current_user))


def _created(listing, status: int = 200):
    response = jsonify(services.listing_to_dict(listing, current_user))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_listing", listing_id=listing.id)
    return response


@bp.post("/listings")
def propose_listing():
    return _created(services.propose_listing(current_user, json_body()), 201)


@bp.post("/listings/<int:listing_id>/confirm")
def confirm_listing(listing_id: int):
    return _created(services.confirm_listing(current_user, services.get_listing(current_user, listing_id)))


@bp.post("/listings/<int:listing_id>/reply")
def reply_to_listing(listing_id: int):
    listing = services.get_listing(current_user, listing_id)
    return _created(services.reply_to_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/appeal")
def appeal_listing(listing_id: int):
    listing = services.get_listing(current_user, listing_id)
    return _created(services.appeal_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/renew")
def renew_listing(listing_id: int):
    listing = services.get_listing(current_user, listing_id)
    return _created(services.renew_listing(current_user, listing, json_body()))


@bp.post("/listings/<int:listing_id>/withdraw")
def withdraw_listing(listing_id: int):
    listing = services.get_listing(current_user, listing_id)
    return _created(services.withdraw_listing(current_user, listing, json_body()))
