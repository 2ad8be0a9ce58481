"""Languages of the interface: Flask-Babel, the user's choice, and catalogues compiled at start.

The choice order is: the language the user picked with the header switch (kept in the session), then the
browser's Accept-Language, then English. `templating.ui_language()` asks `current_language()`, so vocabulary
labels, country names and gettext strings always agree.

Only the `.po` files are committed (zhigu/translations/<lang>/LC_MESSAGES/messages.po). `compile_catalogs`
writes the `.mo` next to each `.po` when it is missing or older than its `.po` (a fresh clone, an edited
catalogue), so `make run`, `make test` and an installed package all serve compiled catalogues without a
build step. When the package directory is read-only the `.mo` goes to `instance/translations` instead.
"""
import os
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import click
from babel import numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, request, session
from flask.cli import AppGroup
from flask_babel import Babel, format_currency, format_date, format_decimal, get_locale, get_translations

#: Languages of the interface; the first is the default.
LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
SESSION_KEY = "ui_language"
CATALOGUES = Path(__file__).parent / "translations"

babel = Babel()


def select_locale() -> str:
    """The user's choice, then the browser's preference, then English.

    The JSON API answers in the language of Accept-Language only (English without one): a script's
    messages must not change with a choice made in some browser session.
    """
    try:
        if request.path.startswith("/api/"):
            return request.accept_languages.best_match(LANGUAGES, default="en")
        chosen = session.get(SESSION_KEY)
        if chosen in LANGUAGES:
            return chosen
        return request.accept_languages.best_match(LANGUAGES, default="en")
    except RuntimeError:  # no request: CLI, digests
        return "en"


def current_language() -> str:
    """'zh' or 'en': the language of this request (or of the locale forced by `force_locale`)."""
    try:
        locale = get_locale()
    except RuntimeError:
        return "en"
    return "zh" if locale is not None and locale.language == "zh" else "en"


def number(value) -> str:
    """A number with the grouping and decimal marks of the page language."""
    if value is None or value == "":
        return ""
    return _decimal(value, str(get_locale()))


@lru_cache(maxsize=4096)
def _decimal(value, locale: str) -> str:
    """Kept: the search page writes a hundred facet counts, and Babel formats each in ~30 µs."""
    return numbers.format_decimal(value, locale=locale)


def money(amount, currency: str | None = None) -> str:
    """An amount in its currency, written the way the page language writes money (¥1,200 / CN¥1,200).

    A whole amount has no ".00": losses are estimates in thousands or millions, and "CN¥1,200,000.00"
    claims a precision nobody had (decimals that are there are written, with the currency's digits).
    """
    if amount is None or amount == "":
        return ""
    if not currency:
        return format_decimal(amount)
    if Decimal(amount) == Decimal(amount).to_integral_value():
        pattern = get_locale().currency_formats["standard"].pattern
        return format_currency(amount, currency, format=re.sub(r"\.0+", "", pattern), currency_digits=False)
    return format_currency(amount, currency)


def date(value, format: str = "medium") -> str:
    """A date (or datetime, taken as its day) in the page language: 'Mar 5, 2024' / '2024年3月5日'."""
    if value is None:
        return ""
    return format_date(value, format)


def _stale(mo: Path, po: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_catalogs(source: Path = CATALOGUES, fallback: Path | None = None) -> Path:
    """Compile every stale `.po` under `source` and return the directory that holds the `.mo` files."""
    target = source
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not _stale(mo, po):
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        try:
            _write_mo(mo, catalog)
        except OSError:
            if fallback is None:
                raise
            target = fallback
            mo = fallback / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            if _stale(mo, po):
                _write_mo(mo, catalog)
    return target


def _write_mo(mo: Path, catalog) -> None:
    """Write next to the target, then rename: workers starting together never read half a file."""
    partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
    try:
        with partial.open("wb") as out:
            write_mo(out, catalog)
        os.replace(partial, mo)
    finally:
        partial.unlink(missing_ok=True)


def page_translations():
    """Flask-Babel's translations for the locale in force, kept on the request's `g` while that locale is.

    Flask-Babel's own look-up walks the request's context three times and names the locale on every call,
    and a case page makes eighty (the templates' `_()`): about a twentieth of its CPU. A locale forced for a
    while (force_locale: e-mails in the recipient's language) is another locale object, so it is looked up."""
    state = g.get("_flask_babel")  # Flask-Babel's per-request namespace, once it has chosen the locale
    locale = getattr(state, "babel_locale", None)
    kept = g.get("_zhigu_translations")
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    state = g.get("_flask_babel")
    if state is not None and getattr(state, "babel_locale", None) is not None:
        g._zhigu_translations = (state.babel_locale, translations)
    return translations


def init_app(app) -> None:
    """Compile the catalogues if needed and bind Flask-Babel with Zhigu's locale selector."""
    directory = compile_catalogs(CATALOGUES, Path(app.instance_path) / "translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: page_translations().ugettext(text),
        ngettext=lambda singular, plural, n: page_translations().ungettext(singular, plural, n),
        pgettext=lambda context, text: page_translations().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: page_translations().unpgettext(context, singular, plural, n),
        newstyle=True)
    app.jinja_env.filters.update(number=number, money=money, date=date)
    app.cli.add_command(i18n_cli)


#: Where user-facing strings live, and how babel reads each kind of file.
EXTRACT_METHODS = [("zhigu/**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
EXTRACT_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
                    "lazy_ngettext": (1, 2), "N_": None}


def N_(text: str) -> str:
    """Mark a string for extraction without translating it here (it is stored, or translated where shown)."""
    return text


def extract_messages(root: Path):
    """Every translatable string in `root`/zhigu and `root`/templates, as a babel Catalog (a .pot)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="zhigu", charset="utf-8")
    for directory in ("zhigu", "templates"):
        methods = [(pattern.split("/", 1)[1], method) for pattern, method in EXTRACT_METHODS
                   if pattern.startswith(directory + "/")]
        for filename, lineno, message, comments, context in extract_from_dir(
                root / directory, methods, keywords=EXTRACT_KEYWORDS, comment_tags=("TRANSLATORS:",),
                strip_comment_tags=True):
            if directory == "zhigu" and (filename.startswith("migrations") or filename.startswith("demo")):
                continue
            template.add(message, None, [(f"{directory}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def untranslated(root: Path) -> dict[str, list[str]]:
    """Per language: extracted msgids its .po lacks or leaves untranslated (empty when all is well)."""
    template = extract_messages(root)
    problems = {}
    for po in sorted((root / "zhigu" / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        missing = []
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, message.context)
            strings = found.string if found is not None and isinstance(found.string, tuple) else (
                (found.string,) if found is not None else ())
            if found is None or found.fuzzy or not all(strings):
                missing.append(str(message.id))
        problems[po.parent.parent.name] = missing
    return problems


def update_catalogs(root: Path) -> None:
    """Merge freshly extracted strings into each committed .po (new ones untranslated, gone ones obsolete)."""
    from babel.messages.pofile import write_po

    template = extract_messages(root)
    for po in sorted((root / "zhigu" / "translations").glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as out:
            write_po(out, catalog, width=120, ignore_obsolete=True, sort_output=True, include_lineno=False)


i18n_cli = AppGroup("i18n", help="Interface translations (zhigu/translations/*/LC_MESSAGES/messages.po).")
SOURCE_ROOT = Path(__file__).parent.parent


@i18n_cli.command("update")
def update_command():
    """Add newly marked strings to every .po (untranslated) and drop strings no longer used."""
    update_catalogs(SOURCE_ROOT)
    for language, missing in untranslated(SOURCE_ROOT).items():
        click.echo(f"{language}: {len(missing)} untranslated")


@i18n_cli.command("check")
def check_command():
    """Exit 1 if a marked string is missing from a catalogue or untranslated."""
    failed = False
    for language, missing in untranslated(SOURCE_ROOT).items():
        for msgid in missing:
            click.echo(f"{language}: untranslated: {msgid!r}")
        failed = failed or bool(missing)
    raise SystemExit(1 if failed else 0)


#: marshmallow's own messages that forms can show, so that they are extracted and translated (see
#: `translate_message`); the API keeps answering in English.
MARSHMALLOW_MESSAGES = [
    N_("Missing data for required field."), N_("Field may not be null."), N_("Unknown field."),
    N_("Invalid value."), N_("Invalid input type."), N_("Not a valid string."), N_("Not a valid integer."),
    N_("Not a valid number."), N_("Not a valid boolean."), N_("Not a valid date."), N_("Not a valid datetime."),
    N_("Not a valid list."), N_("Not a valid mapping type."), N_("Not a valid email address."),
    N_("Not a valid URL."), N_("String does not match expected pattern."), N_("Must be one of: {choices}."),
    N_("Length must be between {min} and {max}."), N_("Shorter than minimum length {min}."),
    N_("Longer than maximum length {max}."), N_("Length must be {equal}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min}."), N_("Must be less than or equal to {max}."),
]


def _message_patterns(translations) -> list[tuple["re.Pattern", str]]:
    """Msgids with {placeholders} (schema messages marshmallow formats before we see them) as regexes.

    Kept on the catalogue object (Flask-Babel keeps one per locale), so they are compiled once.
    """
    import re

    cached = getattr(translations, "_zhigu_patterns", None)
    if cached is not None:
        return cached
    patterns = []
    for msgid in getattr(translations, "_catalog", {}):
        if isinstance(msgid, str) and "{" in msgid:
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(msgid))
            patterns.append((re.compile(f"^{regex}$", re.DOTALL), msgid))
    try:
        translations._zhigu_patterns = patterns
    except AttributeError:
        pass
    return patterns


def translate_message(text) -> str:
    """A message in the request's language: marked schema and service messages and marshmallow's defaults.

    Schemas and services keep English messages (imports and the command line answer in English); pages and
    the API translate them here, also after {min}/{max}/{choices} or a service's {placeholders} were
    filled in. Messages nobody translated are shown as they are.
    """
    if not isinstance(text, str) or current_language() == "en":
        return text
    translations = get_translations()
    translated = translations.gettext(text)
    if translated != text:
        return translated
    for pattern, msgid in _message_patterns(translations):
        match = pattern.match(text)
        if match:
            try:
                return translations.gettext(msgid).format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                return text
    return text


def translate_messages(messages):
    """`translate_message` over marshmallow's nested messages ({field: [msgs]}, {index: {...}}); keys unchanged."""
    if isinstance(messages, dict):
        return {key: translate_messages(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate_messages(value) for value in messages]
    return translate_message(messages)
