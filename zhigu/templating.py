"""Jinja helpers: sanitized markdown, labels of coded values, permissions and the CSRF token."""
from functools import lru_cache

import nh3
from babel import Locale
from flask import request
from flask_login import current_user
from markdown_it import MarkdownIt
from markupsafe import Markup

from zhigu.archive.vocabulary import CAUSE_FAMILIES, ORG_TYPES, SECTORS, STAGES
from zhigu.auth.permissions import can

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                "code", "pre", "a", "hr", "table", "thead", "tbody", "tr", "th", "td"}
VOCABULARIES = {"sector": SECTORS, "stage": STAGES, "org_type": ORG_TYPES, "family": CAUSE_FAMILIES}


def render_markdown(text: str | None) -> Markup:
    """Render markdown to HTML with only harmless tags; links get rel="noopener noreferrer nofollow"."""
    html = _markdown.render(text or "")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"))


def ui_language() -> str:
    """Chinese for browsers that prefer it, English otherwise."""
    try:
        best = request.accept_languages.best_match(["en", "zh"], default="en")
    except RuntimeError:
        best = "en"
    return best


def label(kind: str, code: str | None) -> str:
    """Label of a coded value (sector, stage, org_type, family) in the page language."""
    if not code:
        return ""
    for entry in VOCABULARIES[kind]:
        if entry[0] == code:
            return entry[2] if ui_language() == "zh" else entry[1]
    return code


@lru_cache(maxsize=4)
def country_names(language: str) -> dict[str, str]:
    names = Locale(language).territories
    return {code: name for code, name in names.items() if len(code) == 2 and code.isalpha()}


def country(code: str) -> str:
    return country_names(ui_language()).get(code, code)


def cause_label(cause) -> str:
    return cause.label(ui_language())


def init_app(app) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["country"] = country
    app.jinja_env.globals.update(label=label, cause_label=cause_label, country_names=country_names,
                                 ui_language=ui_language, vocabularies=VOCABULARIES)

    @app.context_processor
    def permissions():
        return {"can": lambda action, obj=None: can(current_user, action, obj)}
