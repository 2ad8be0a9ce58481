"""Pages: notifications (mark read, digest choice), subscriptions (follow, unfollow), follow a case."""
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.vocabulary import SECTORS
from zhigu.archive.services import list_causes
from zhigu.auth.permissions import require
from zhigu.forms import form_data
from zhigu.notify import bp, digests, inbox, subscriptions
from zhigu.notify.schemas import DigestSettingSchema, SubscriptionSchema
from zhigu.search.documents import FACETS
from zhigu.templating import country_names, label, ui_language
from zhigu.views import flash_error

@bp.app_template_global()
def unread_notifications() -> int:
    return inbox.unread_count(current_user)


@bp.app_template_global()
def case_subscription(case):
    return subscriptions.case_subscription(current_user, case)


@bp.app_template_global()
def current_search() -> str:
    """The search page's words and filters as a saved-search target ("" when there are none)."""
    pairs = [(name, value) for name in ("q", *FACETS) for value in request.args.getlist(name) if value.strip()]
    if not pairs:
        return ""
    if len(pairs) == 1 and pairs[0][0] == "q":
        return pairs[0][1].strip()
    return subscriptions.canonical_search(urlencode(pairs))


@bp.app_template_global()
def subscription_for(kind: str, target: str):
    return subscriptions.subscription_for(current_user, kind, target)


def _page(errors=None, status=200, sub_form=None, digest_form=None):
    return render_template("notify/notifications.html", notifications=inbox.notifications_of(current_user),
                           subscriptions=subscriptions.subscriptions_of(current_user),
                           setting=digests.digest_setting(current_user), describe=subscriptions.describe,
                           pick_lists=_pick_lists(),
                           errors=errors or {}, form=sub_form or digest_form or {}), status


def _pick_lists() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(kind, label, [(code, name)]) of what can be followed by picking a name rather than typing a code."""
    language = ui_language()
    causes = [(cause.code, f"{label('family', cause.family)}: {cause.label(language)}")
              for cause in list_causes(include_retired=False)]
    sectors = [(code, label("sector", code)) for code, *_ in SECTORS]
    countries = sorted(country_names(language).items(), key=lambda item: item[1])
    return [("cause", _("Follow a cause"), sorted(causes, key=lambda item: item[1])),
            ("sector", _("Follow a sector"), sectors), ("market", _("Follow a target market"), countries)]


@bp.route("/notifications")
@login_required
def notifications():
    require(current_user, "notify.subscribe")
    return _page()


@bp.post("/notifications/read")
@login_required
def mark_read():
    ids = request.form.getlist("ids")
    try:
        inbox.mark_read(current_user, {"ids": ids} if ids else {})
    except ValidationError:
        flash(_("Those notifications could not be marked as read."), "error")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/")
                    and not request.form.get("next", "").startswith("//") else url_for("notify.notifications"))


@bp.post("/notifications/digest")
@login_required
def digest():
    try:
        digests.set_digest_frequency(current_user, form_data(DigestSettingSchema()))
    except ValidationError as err:
        return _page(err.normalized_messages(), 422, digest_form=request.form)
    flash(_("Your digest choice was saved."), "success")
    return redirect(url_for("notify.notifications"))


@bp.post("/subscriptions")
@login_required
def subscribe():
    try:
        sub = subscriptions.subscribe(current_user, form_data(SubscriptionSchema()))
    except ValidationError as err:
        if request.form.get("next"):
            flash_error(err)  # followed from another page: back there with the reason
            return redirect(_safe_next())
        return _page(err.normalized_messages(), 422, sub_form=request.form)
    flash(_("You now follow %(target)s.", target=subscriptions.describe(sub)), "success")
    return redirect(_safe_next())


@bp.post("/subscriptions/<int:subscription_id>/delete")
@login_required
def unsubscribe(subscription_id: int):
    subscriptions.unsubscribe(current_user, subscriptions.get_subscription(current_user, subscription_id))
    flash(_("You no longer follow it."), "success")
    return redirect(_safe_next())


def _safe_next() -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("notify.notifications")
