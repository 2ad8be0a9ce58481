"""Notification texts rendered in the reader's language when shown, not when stored.

A notification is stored with its English msgid (marked with N_ where it is raised, so `zhigu i18n update`
extracts it), the values of its {placeholders} and the English text. Showing it translates the msgid and
any value given as a term ({"msgid": ...}, e.g. "published"), then fills in the values. Rows stored before
keys existed show their English text, translated when it matches a known msgid.
"""
from flask_babel import gettext

from zhigu.i18n import N_, translate_message

#: Codes other packages pass as terms (`term(listing.list_name)`), marked here so that they are extracted.
TERMS = (N_("red"), N_("black"))


def term(msgid: str, **params) -> dict:
    """A placeholder value that is itself a marked phrase (with its own {placeholders}), translated when shown."""
    return {"msgid": msgid, "params": params} if params else {"msgid": msgid}


def _value(value, translate) -> str:
    if isinstance(value, dict) and "msgid" in value:
        text = translate(value["msgid"])
        params = value.get("params") or {}
        return text.format(**{name: _value(item, translate) for name, item in params.items()}) if params else text
    if isinstance(value, list):
        return "; ".join(_value(item, translate) for item in value)
    return "" if value is None else str(value)


def english(key: str, params: dict) -> str:
    """The message in English (stored beside the key: old readers and plain-text consumers keep working)."""
    return key.format(**{name: _value(value, str) for name, value in params.items()})


def render(key: str | None, params: dict | None, stored: str) -> str:
    """The message in the current language; the stored English text when the key cannot be rendered."""
    if not key:
        return translate_message(stored)
    try:
        return gettext(key).format(**{name: _value(value, gettext) for name, value in (params or {}).items()})
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder
        return stored
