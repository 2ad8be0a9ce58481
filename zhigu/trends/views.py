"""The trends dashboard page and the CSV behind each of its charts."""
import csv
import io
from functools import partial

from flask import Response, abort, render_template, request
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from zhigu.archive.services import list_causes
from zhigu.templating import country, label, region, ui_language
from zhigu.trends import bp, charts, services
from zhigu.trends.schemas import DIMENSIONS, SCOPES
from zhigu.trends.tables import CHARTS, table


#: Chart titles as the page shows them (CHARTS keeps the English ones the CSV file names and tests use).
CHART_TITLES = {
    "timeline": _l("Failures over time"),
    "top_causes": _l("Top recurring causes against the previous period"),
    "cause": _l("By primary cause"),
    "family": _l("By cause family"),
    "sector": _l("By sector"),
    "region": _l("By region"),
    "market": _l("By target market"),
    "stage": _l("By stage reached"),
    "money": _l("Money lost by primary cause"),
    "time_to_failure": _l("Time to failure by primary cause (days from start to end)"),
    "recurrence": _l("Recurrences: new failures closely resembling earlier ones"),
    "attempts": _l("Second attempts against first attempts; consulting the archive"),
}
#: Column labels shown on the page for the machine names the CSV files keep as their headers.
COLUMN_LABELS = {
    "primary cause": _l("Primary cause"), "cause family": _l("Cause family"), "sector": _l("Sector"),
    "region": _l("Region"), "target market": _l("Target market"), "stage reached": _l("Stage reached"),
    "total": _l("Total"), "count": _l("Count"), "share": _l("Share"), "previous count": _l("Previous count"),
    "previous share": _l("Previous share"), "change (points)": _l("Change (points)"), "currency": _l("Currency"),
    "n": _l("n"), "median": _l("Median"), "25th percentile": _l("25th percentile"),
    "75th percentile": _l("75th percentile"), "min": _l("Min"), "max": _l("Max"), "new case id": _l("New case id"),
    "new case": _l("New case"), "published": _l("Published"), "earlier case id": _l("Earlier case id"),
    "earlier case": _l("Earlier case"), "earlier published": _l("Earlier published"),
    "similarity": _l("Similarity"), "group": _l("Group"), "initiatives ended (n)": _l("Initiatives ended (n)"),
    "succeeded": _l("Succeeded"), "success rate": _l("Success rate"),
    "median days to outcome": _l("Median days to outcome"), "n (days)": _l("n (days)"),
}
#: Row names of the attempts table (tables.ATTEMPT_GROUPS keeps the English ones for the CSV).
ATTEMPT_GROUP_LABELS = {
    "first attempts": _l("first attempts"), "second attempts": _l("second attempts"),
    "consulted the archive (marked a suggested case relevant)":
        _l("consulted the archive (marked a suggested case relevant)"),
    "did not consult the archive": _l("did not consult the archive"),
}


def column_label(header) -> str:
    """The page's name of a table column (periods such as 2024-Q1 stay as they are)."""
    return str(COLUMN_LABELS.get(header, header))


def _labeller():
    """label_of(dimension, code) -> the name a reader knows, in the page language."""
    causes = {cause.code: cause.label(ui_language()) for cause in list_causes(include_retired=True)}

    def label_of(dimension: str, code):
        if code is None:
            return code
        if code == services.NONE:
            return gettext("(none)")
        if code == services.OTHER:
            return gettext("(other)")
        if dimension == "attempts":
            return str(ATTEMPT_GROUP_LABELS.get(code, code))
        if dimension in ("cause", "top_causes", "money", "time_to_failure"):
            return causes.get(code, code)
        if dimension in ("family", "sector", "stage"):
            return label(dimension, code)
        if dimension == "market":
            return country(code)
        if dimension == "region":
            return region(code)
        return code

    return label_of


@bp.route("/trends")
def dashboard():
    """Open to visitors, who count public cases only (services.compute_trends); the park scope needs a log-in."""
    try:
        trends = services.compute_trends(current_user, request.args.to_dict(), visitors=True)
    except ValidationError as err:
        return render_template("trends/dashboard.html", trends=None, errors=err.normalized_messages(),
                               form=request.args, scopes=SCOPES, dimensions=DIMENSIONS), 422
    label_of = _labeller()
    # form=None: the filters show the values in force (defaults filled in), not only those in the URL
    return render_template("trends/dashboard.html", trends=trends, errors={}, form=None, scopes=SCOPES,
                           dimensions=DIMENSIONS, charts=charts, chart_titles=CHART_TITLES, table=table,
                           column_label=column_label,
                           label_of=label_of, label_for=lambda dimension: partial(label_of, dimension),
                           services_threshold=services.RECURRENCE_THRESHOLD,
                           recurrence_checked=services.RECURRENCE_CHECKED,
                           recurrence_min_terms=services.RECURRENCE_MIN_TERMS,
                           min_compare_n=services.MIN_COMPARE_N)


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
def download(chart: str):
    if chart not in CHARTS:
        abort(404)
    trends = services.compute_trends(current_user, request.args.to_dict(), with_recurrences=chart == "recurrence",
                                     visitors=True)
    headers, rows = table(trends, chart)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="zhigu-trends-{chart}.csv"'})
