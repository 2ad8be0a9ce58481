"""The trends dashboard page and the CSV behind each of its charts."""
import csv
import io

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required
from marshmallow import ValidationError

from zhigu.archive.services import list_causes
from zhigu.templating import country, label, ui_language
from zhigu.trends import bp, charts, services
from zhigu.trends.schemas import DIMENSIONS, SCOPES
from zhigu.trends.tables import CHARTS, table


def _labeller():
    """label_of(dimension, code) -> the name a reader knows, in the page language."""
    causes = {cause.code: cause.label(ui_language()) for cause in list_causes(include_retired=True)}

    def label_of(dimension: str, code):
        if code in (services.NONE, services.OTHER) or code is None:
            return code
        if dimension in ("cause", "top_causes", "money", "time_to_failure"):
            return causes.get(code, code)
        if dimension in ("family", "sector", "stage"):
            return label(dimension, code)
        if dimension == "market":
            return country(code)
        return code

    return label_of


@bp.route("/trends")
@login_required
def dashboard():
    try:
        trends = services.compute_trends(current_user, request.args.to_dict())
    except ValidationError as err:
        return render_template("trends/dashboard.html", trends=None, errors=err.normalized_messages(),
                               form=request.args, scopes=SCOPES, dimensions=DIMENSIONS), 422
    # form=None: the filters show the values in force (defaults filled in), not only those in the URL
    return render_template("trends/dashboard.html", trends=trends, errors={}, form=None, scopes=SCOPES,
                           dimensions=DIMENSIONS, charts=charts, chart_titles=CHARTS, table=table,
                           label_of=_labeller(), services_threshold=services.RECURRENCE_THRESHOLD,
                           recurrence_checked=services.RECURRENCE_CHECKED,
                           recurrence_min_terms=services.RECURRENCE_MIN_TERMS)


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@bp.route("/trends/<chart>.csv")
@login_required
def download(chart: str):
    if chart not in CHARTS:
        abort(404)
    trends = services.compute_trends(current_user, request.args.to_dict(), with_recurrences=chart == "recurrence")
    headers, rows = table(trends, chart)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="zhigu-trends-{chart}.csv"'})
