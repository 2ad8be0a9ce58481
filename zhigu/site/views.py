from flask import Response, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from zhigu.archive import services
from zhigu.i18n import LANGUAGES, SESSION_KEY
from zhigu.site import bp
from zhigu.templating import render_markdown


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


#: The longest text a preview renders (the longest case field is far shorter).
PREVIEW_MAX_CHARS = 100_000


@bp.post("/preview")
@login_required
def preview():
    """Markdown of a form field rendered as the case page renders it (same sanitizer), as an HTML fragment.

    The case form's preview buttons (zhigu.js) post here with the form's CSRF token; without the script the
    form works as before and the page shows the text after saving.
    """
    text = request.form.get("text", "")
    if len(text) > PREVIEW_MAX_CHARS:
        return Response(gettext("The text is too long to preview."), status=413, mimetype="text/plain")
    response = Response(str(render_markdown(text)), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
