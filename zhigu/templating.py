"""Jinja helpers: sanitized markdown, labels of coded values, permissions, form values and query URLs."""
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import nh3
from babel import Locale
from flask import g, request, url_for
from flask_login import current_user
from jinja2 import pass_context
from markdown_it import MarkdownIt
from markupsafe import Markup

from zhigu.schemas import COUNTRY_CODES
from zhigu.archive.vocabulary import CAUSE_FAMILIES, ORG_TYPES, REGION_NAMES_ZH, SECTORS, STAGES
from zhigu.auth.permissions import can
from zhigu.guilds.models import LIST_LABELS, LISTING_ACTION_LABELS, LISTING_STATUS_LABELS, ORG_TYPE_LABELS
from zhigu.i18n import LANGUAGE_NAMES, current_language, translate_message
from zhigu.validation import BIDI_CHARACTERS, SURROGATES, printable, strip_bidi

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                "code", "pre", "a", "hr", "table", "thead", "tbody", "tr", "th", "td"}
VOCABULARIES = {"sector": SECTORS, "stage": STAGES, "org_type": ORG_TYPES, "family": CAUSE_FAMILIES,
                "listing_status": LISTING_STATUS_LABELS, "listing_action": LISTING_ACTION_LABELS,
                "guild_org_type": ORG_TYPE_LABELS, "guild_list": LIST_LABELS}


def render_markdown(text: str | None) -> Markup:
    """Render markdown to HTML with only harmless tags; links get rel="noopener noreferrer nofollow".

    Bidirectional controls are dropped (the preview fragment and e-mails print this without Jinja's
    finalize), and an unpaired surrogate stored before inputs were checked shows as U+FFFD, not a 500.
    """
    html = _markdown.render(strip_bidi(printable(text or "")))
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"))


def ui_language() -> str:
    """'zh' or 'en': the language Flask-Babel chose (the header switch, then Accept-Language)."""
    return current_language()


def label(kind: str, code: str | None) -> str:
    """Label of a coded value (a kind of VOCABULARIES: sector, stage, org_type, ...) in the page language."""
    if not code:
        return ""
    for entry in VOCABULARIES[kind]:
        if entry[0] == code:
            return entry[2] if ui_language() == "zh" else entry[1]
    return code


@lru_cache(maxsize=4)
def country_names(language: str) -> dict[str, str]:
    """Names of the countries a case may target (the schema's list), in `language`."""
    names = Locale(language).territories
    return {code: name for code, name in names.items() if code in COUNTRY_CODES}


def country(code: str) -> str:
    return country_names(ui_language()).get(code, code)


@lru_cache(maxsize=1)
def _countries_zh() -> dict[str, str]:
    """Chinese names of countries by their English names ("Kazakhstan/Almaty", an organization's region)."""
    english, chinese = Locale("en").territories, Locale("zh").territories
    return {name: chinese[code] for code, name in english.items() if code in chinese and len(code) == 2}


def region(value: str | None) -> str:
    """A region ("Province/City" in pinyin, or "Country/City" abroad) in the page language: each known part
    named in Chinese on the Chinese pages, the others as written."""
    if not value or ui_language() != "zh":
        return value or ""
    return "/".join(REGION_NAMES_ZH.get(part.strip()) or _countries_zh().get(part.strip(), part.strip())
                    for part in value.split("/"))


def cause_label(cause) -> str:
    return cause.label(ui_language())


def highlighted(snippet: str | None) -> Markup:
    """Mark up a search snippet, keeping only its <mark> tags.

    Whoosh's HtmlFormatter escapes the text it cuts from the case, so this is a second line of defence:
    whatever a formatter change lets through, only <mark class="..."> survives.
    """
    return Markup(nh3.clean(snippet or "", tags={"mark"}, attributes={"mark": {"class"}}))


def _messages(value) -> list[str]:
    """Flatten marshmallow messages ({0: [...]} for list items, nested dicts) into plain strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [message for item in value.values() for message in _messages(item)]
    return [message for item in value for message in _messages(item)]


@pass_context
def field_errors(context, name: str) -> list[str]:
    """The validation messages of one form field, from the `errors` the view passed."""
    return [translate_message(message) for message in _messages((context.get("errors") or {}).get(name))]


@pass_context
def field_value(context, name: str, default=None):
    """What an input shows: the submitted value after a failed POST, else `default` (the stored value)."""
    form = context.get("form")
    if form:
        return form.get(name, "")
    return "" if default is None else default


@pass_context
def field_values(context, name: str, default=None) -> list:
    """The chosen values of a multi-value field (checkboxes, multi-selects), as field_value does."""
    form = context.get("form")
    if form:
        return list(form.getlist(name)) if hasattr(form, "getlist") else list(form.get(name) or [])
    return list(default or [])


@pass_context
def field_checked(context, name: str, default=False) -> bool:
    """Whether a checkbox shows ticked: as submitted after a failed POST, else `default`."""
    form = context.get("form")
    if form:
        return form.get(name) not in (None, "", "0", "false", "off")
    return bool(default)


#: Characters a query string keeps as they are (Werkzeug's, for the URLs url_for builds).
QUERY_SAFE = "!$'()*,/:;?@"


def url_with(**changes) -> str:
    """This page's URL with query arguments changed: None drops one, a list sets a repeated one.

    What url_for(endpoint, **view_args, **args) gives, with the path and the arguments read once per request:
    the search page links every facet value this way (a hundred links), and url_for, then copying the request's
    arguments for each link, took a tenth of its CPU. An argument named like url_for's own (`_anchor`,
    `_external`) stays an argument: given to url_for, `?_anchor=x` failed with a 500."""
    view_args = request.view_args or {}
    page = g.get("zhigu_page_url")
    if page is None:
        page = g.zhigu_page_url = (url_for(request.endpoint, **view_args), list(request.args.items(multi=True)))
    path, arguments = page
    # the arguments in the order a MultiDict keeps them: those unchanged, then each changed one, moved last
    items = [(key, value) for key, value in arguments if key not in changes]
    for key, value in changes.items():
        if isinstance(value, (list, tuple)):
            items += [(key, str(v)) for v in value]
        elif value is not None:
            items.append((key, str(value)))
    if view_args and any(key in view_args for key, _ in items):  # (url_for would fill the path with it)
        lists: dict[str, list[str]] = {}
        for key, value in items:
            lists.setdefault(key, []).append(value)
        return url_for(request.endpoint, **view_args, **lists)
    query = urlencode(items, safe=QUERY_SAFE)
    return f"{path}?{query}" if query else path


def toggle_filter(name: str, value: str) -> str:
    """This page's URL with a facet value added or removed, back on the first page."""
    values = request.args.getlist(name)
    values = [v for v in values if v != value] if value in values else [*values, value]
    return url_with(page=None, **{name: values})


#: How long browsers keep static files: a year, since every page links them with a version of their content.
STATIC_MAX_AGE = 365 * 24 * 3600


@lru_cache(maxsize=64)
def _file_version(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def static_version(folder: str, filename: str) -> str | None:
    """A short hash of a static file's content (None when it does not exist); recomputed when it changes."""
    path = Path(folder) / filename
    try:
        mtime_ns = path.stat().st_mtime_ns
    except (OSError, ValueError):
        return None
    return _file_version(str(path), mtime_ns)


#: What the finalize below changes in a printed value: most values hold none of it and are printed as they are.
BIDI_OR_SURROGATE = re.compile(f"[{BIDI_CHARACTERS}]|{SURROGATES.pattern}")


def without_bidi_controls(value):
    """Jinja's finalize: drop bidirectional controls from every printed value (escaped text and Markup alike),
    and show an unpaired surrogate stored before inputs were checked as U+FFFD instead of failing the page.

    A page prints hundreds of values: copying each (a Markup object for the escaped ones) whether or not it held
    any was a twentieth of a case page's CPU."""
    if isinstance(value, str) and BIDI_OR_SURROGATE.search(value):
        return strip_bidi(printable(value))
    return value


def init_app(app) -> None:
    # Static files are cached for long and linked as /static/zhigu.css?v=<hash of its content>, so a new
    # stylesheet or script reaches browsers with the first page that links it.
    if app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE

    @app.url_defaults
    def versioned_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    app.jinja_env.finalize = without_bidi_controls
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["country"] = country
    app.jinja_env.filters["region"] = region
    app.jinja_env.filters["highlighted"] = highlighted
    app.jinja_env.globals.update(label=label, cause_label=cause_label, country_names=country_names,
                                 ui_language=ui_language, language_names=LANGUAGE_NAMES, vocabularies=VOCABULARIES,
                                 field_errors=field_errors, field_value=field_value, field_values=field_values,
                                 field_checked=field_checked, url_with=url_with, toggle_filter=toggle_filter)

    @app.context_processor
    def permissions():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}
