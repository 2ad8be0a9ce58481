from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from zhigu.archive import services
from zhigu.i18n import LANGUAGES, SESSION_KEY
from zhigu.site import bp


@bp.route("/")
def home():
    return render_template("site/home.html", recent=services.recent_cases(current_user),
                           families=services.count_published_by_family(current_user))


@bp.post("/language")
def set_language():
    """Remember the interface language the user picked and go back to the page they were on."""
    chosen = request.form.get("language")
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
    target = request.form.get("return_to") or ""
    # only paths on this site: never an absolute or protocol-relative URL
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("site.home")
    return redirect(target)
