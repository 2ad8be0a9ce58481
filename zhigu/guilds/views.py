"""Red and black list pages (public), the listing process for reviewers and representatives, and admin pages."""
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.auth.permissions import can, require
from zhigu.errors import ZhiguError
from zhigu.forms import form_data, render_form
from zhigu.guilds import bp, services
from zhigu.guilds.schemas import (ORG_TYPES, AppealSchema, DecisionSchema, GuildReviewerSchema, GuildSchema,
                                  ListingSchema, OrganizationSchema, RenewalSchema, ReplySchema, WithdrawSchema)
from zhigu.i18n import N_
from zhigu.views import flash_error
from zhigu import templating  # a module, not its names: templating imports guilds.models, which loads this


@bp.app_template_global()
def reviews_for_a_guild() -> bool:
    return bool(services.guilds_of(current_user))


@bp.app_template_global()
def listing_evidence(listing):
    return services.visible_evidence(listing)


@bp.app_template_global()
def may_judge_appeal(listing) -> bool:
    """Whether the current user took no part in the listing's decisions (templates offer the verdict then)."""
    return services.may_judge_appeal(current_user, listing)


@bp.get("/lists")
def index():
    return render_form("guilds/index.html", red=services.current_listings("red"),
                       black=services.current_listings("black"), suspended=services.suspended_listings(),
                       pending=services.pending_listings(current_user) if current_user.is_authenticated else [],
                       my_guilds=services.guilds_of(current_user))


def _listing_page(listing, error=None):
    audit = services.listing_audit(current_user, listing) if can(current_user, "listing.audit", listing) else None
    return render_form("guilds/listing.html", error, listing=listing, audit=audit,
                       evidence=services.visible_evidence(listing), today=services.today(),
                       decision=services.appeal_decision(listing))


@bp.get("/lists/<int:listing_id>")
def listing(listing_id: int):
    return _listing_page(services.get_listing(current_user, listing_id))


@bp.route("/lists/propose", methods=["GET", "POST"])
@login_required
def propose():
    guilds = services.guilds_of(current_user)
    if not guilds:
        abort(403)
    if request.method == "POST":
        try:
            listing = services.propose_listing(current_user, form_data(ListingSchema()))
        except ValidationError as err:
            return render_form("guilds/propose.html", err, **_propose_options(guilds))
        flash(_("Proposed. A second reviewer of the guild must confirm it before it is published."), "success")
        return redirect(url_for("guilds.listing", listing_id=listing.id))
    return render_form("guilds/propose.html", **_propose_options(guilds))


def _propose_options(guilds) -> dict:
    return {"guild_options": [(g.slug, g.name) for g in guilds],
            "org_options": [(str(o.id), o.name) for o in services.list_organizations()]}


#: action → (service, schema or None, message on success: marked here, translated when flashed)
STEPS = {
    "confirm": (services.confirm_listing, DecisionSchema, N_("The listing is published.")),
    "reply": (services.reply_to_listing, ReplySchema, N_("Your reply is shown beside the listing.")),
    "appeal": (services.appeal_listing, AppealSchema, N_("Your appeal re-opened the review.")),
    "renew": (services.renew_listing, RenewalSchema, N_("The listing was renewed.")),
    "withdraw": (services.withdraw_listing, WithdrawSchema, N_("The listing was withdrawn.")),
}


@bp.post("/lists/<int:listing_id>/<any(confirm, reply, appeal, renew, withdraw):step>")
@login_required
def step(listing_id: int, step: str):
    listing = services.get_listing(current_user, listing_id)
    service, schema, message = STEPS[step]
    if step == "confirm" and listing.status == "appealed":
        message = N_("The listing stands: the appeal was not granted. The organization is told why.")
    try:
        service(current_user, listing, form_data(schema()) if schema else {})
    except ValidationError as err:
        return _listing_page(listing, err)
    except ZhiguError as err:  # a step refused in the listing's state: said on the page
        flash_error(err)
    else:
        flash(_(message), "success")
    return redirect(url_for("guilds.listing", listing_id=listing.id))


# -- admin ----------------------------------------------------------------------------------------------

def _admin_page(error=None, form_name=None):
    if form_name == "organization":
        return render_form("guilds/admin_organizations.html", error, organizations=services.list_organizations(),
                           type_options=[(code, templating.label("guild_org_type", code)) for code in ORG_TYPES])
    guilds = services.list_guilds()
    return render_form("guilds/admin_guilds.html", error, guilds=guilds,
                       guild_options=[(g.slug, g.name) for g in guilds])


@bp.get("/admin/guilds")
@login_required
def admin():
    require(current_user, "guild.admin")
    return _admin_page()


@bp.get("/admin/organizations")
@login_required
def admin_organizations():
    require(current_user, "guild.admin")
    return _admin_page(form_name="organization")


ADMIN_FORMS = {
    "guild": (services.create_guild, GuildSchema, N_("The guild was created.")),
    "reviewer": (services.add_reviewer, GuildReviewerSchema, N_("The reviewer was added.")),
    "organization": (services.create_organization, OrganizationSchema, N_("The organization was created.")),
}


@bp.post("/admin/guilds/<any(guild, reviewer, organization):form_name>")
@login_required
def admin_create(form_name: str):
    require(current_user, "guild.admin")
    service, schema, message = ADMIN_FORMS[form_name]
    try:
        service(current_user, form_data(schema()))
    except ValidationError as err:
        return _admin_page(err, form_name)
    flash(_(message), "success")
    return redirect(url_for("guilds.admin_organizations" if form_name == "organization" else "guilds.admin"))
