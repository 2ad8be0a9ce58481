"""Sign-up, log-in, profile and the admin pages for users and parks: thin wrappers over services."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required, login_user, logout_user
from marshmallow import ValidationError

from zhigu.auth import bp, services
from zhigu.auth.models import Role
from zhigu.auth.permissions import require
from zhigu.auth.schemas import (NewPasswordSchema, ParkSchema, PasswordChangeSchema, PasswordResetRequestSchema,
                                SignupSchema, UserSchema)
from zhigu.forms import form_data, render_form
from zhigu.i18n import N_


def _safe_next(default: str) -> str:
    """Follow ?next= only within this site."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    return target if target.startswith("/") and not target.startswith("//") and not parts.netloc else default


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "POST":
        try:
            user = services.sign_up(form_data(SignupSchema()))
        except ValidationError as err:
            return render_form("auth/signup.html", err)
        services.start_session(user)
        login_user(user)
        flash(_("Welcome to Zhigu. An admin can add you to your park."), "success")
        return redirect(url_for("site.home"))
    return render_form("auth/signup.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = services.log_in(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            # the same words whether the address is unknown, the password wrong or the account disabled
            error = ValidationError({"password": [N_("Wrong e-mail address or password.")]})
            return render_form("auth/login.html", error)
        login_user(user, remember=bool(request.form.get("remember")))
        return redirect(_safe_next(url_for("site.home")))
    return render_form("auth/login.html")


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link: the same answer whether or not an account uses the address (no enumeration)."""
    if request.method == "POST":
        try:
            services.request_password_reset(form_data(PasswordResetRequestSchema()))
        except ValidationError as err:
            return render_form("auth/forgot_password.html", err)
        flash(_("If an account uses this address, a link to set a new password is on its way to it. The link "
                "works once, for %(minutes)d minutes.", minutes=services.reset_max_age() // 60), "success")
        return redirect(url_for("auth.forgot_password"))
    return render_form("auth/forgot_password.html")


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    """Choose a new password through the e-mailed link (?token=...); the link works once."""
    token = request.values.get("token", "")
    if services.user_for_reset_token(token) is None:
        return render_template("auth/reset_password.html", invalid=True, errors={}, form={}), 400
    if request.method == "POST":
        try:
            user = services.reset_password(token, form_data(NewPasswordSchema()))
        except ValidationError as err:
            return render_form("auth/reset_password.html", err, token=token)
        if user is None:  # used meanwhile, from another tab
            return render_template("auth/reset_password.html", invalid=True, errors={}, form={}), 400
        if current_user.is_authenticated and current_user.id == user.id:
            logout_user()  # this browser's session ended with all the others
        flash(_("Your new password is set and you were logged out everywhere. Log in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_form("auth/reset_password.html", token=token)


@bp.post("/logout")
def logout():
    """End this browser's session on the server too, so a copy of its cookies no longer works."""
    if current_user.is_authenticated:
        services.end_session(current_user)
    logout_user()
    return redirect(url_for("site.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    if request.method == "POST":
        try:
            revoked = services.change_password(current_user, form_data(PasswordChangeSchema()))
        except ValidationError as err:
            return render_form("auth/profile.html", err, tokens=current_user.tokens)
        # every other session has ended; this browser continues in the fresh one the service started
        remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
        login_user(current_user._get_current_object(), remember=remembered)
        flash(_("Your password was changed. You were logged out everywhere else."), "success")
        if revoked:
            flash(ngettext("%(num)d API token was revoked.", "%(num)d API tokens were revoked.", revoked),
                  "success")
        return redirect(url_for("auth.profile"))
    return render_form("auth/profile.html", tokens=current_user.tokens)


@bp.post("/profile/tokens")
@login_required
def create_token():
    try:
        _token, secret = services.create_token(current_user, request.form.get("name", ""))
    except ValidationError as err:
        return render_form("auth/profile.html", err, tokens=current_user.tokens)
    return render_template("auth/profile.html", tokens=current_user.tokens, new_token=secret, errors={},
                           form={})


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/admin/users")
@login_required
def admin_users():
    require(current_user, "admin.users")
    return render_template("auth/admin_users.html", users=services.list_users())


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def admin_edit_user(user_id: int):
    require(current_user, "admin.users")
    user = services.get_user(user_id)
    if request.method == "POST":
        was_active = user.is_active
        try:
            services.update_user(current_user, user, form_data(UserSchema()))
        except ValidationError as err:
            return render_form("auth/admin_user_form.html", err, user=user, parks=services.list_parks(),
                               roles=list(Role))
        flash(_("%(email)s was updated.", email=user.email), "success")
        if was_active and not user.is_active:
            flash(_("%(email)s was logged out everywhere and their API tokens were revoked.", email=user.email),
                  "success")
        return redirect(url_for("auth.admin_users"))
    return render_form("auth/admin_user_form.html", user=user, parks=services.list_parks(), roles=list(Role))


@bp.route("/admin/parks", methods=["GET", "POST"])
@login_required
def admin_parks():
    require(current_user, "admin.parks")
    if request.method == "POST":
        try:
            park = services.create_park(current_user, form_data(ParkSchema()))
        except ValidationError as err:
            return render_form("auth/admin_parks.html", err, parks=services.list_parks())
        flash(_("Park %(name)s was created.", name=park.name), "success")
        return redirect(url_for("auth.admin_parks"))
    return render_form("auth/admin_parks.html", parks=services.list_parks())


@bp.route("/admin/parks/<int:park_id>", methods=["GET", "POST"])
@login_required
def admin_edit_park(park_id: int):
    require(current_user, "admin.parks")
    park = services.get_park(park_id)
    if request.method == "POST":
        try:
            services.update_park(current_user, park, form_data(ParkSchema()))
        except ValidationError as err:
            return render_form("auth/admin_park_form.html", err, park=park)
        flash(_("Park %(name)s was updated.", name=park.name), "success")
        return redirect(url_for("auth.admin_parks"))
    return render_form("auth/admin_park_form.html", park=park)
