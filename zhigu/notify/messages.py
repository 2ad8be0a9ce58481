"""Notification texts rendered in the reader's language, and for the reader's eyes, when shown, not when stored.

A notification is stored with its English msgid (marked with N_ where it is raised, so `zhigu i18n update`
extracts it), the values of its {placeholders} and the English text. Showing it translates the msgid and
any value given as a term ({"msgid": ...}, e.g. "published"), then fills in the values. Rows stored before
keys existed show their English text, translated when it matches a known msgid.

Cases are named by reference (`case_ref(case)`, stored as {"case_id": ...}), never by a copied title: each
time a notification is shown (page, API, digest) the case's current row is checked against the reader, the
notification's owner, and a case they may not open reads "a case you cannot see". Rows stored before
references existed hold titles as plain strings; those are redacted conservatively (`_legacy_value`). The
editor of a case whose organization is anonymized is never named to a reader who may not see the
organization.
"""
from flask_babel import gettext

from zhigu.archive.models import FailureCase
from zhigu.auth.permissions import can
from zhigu.extensions import db
from zhigu.i18n import N_, translate_message
from zhigu.notify.models import NotificationKind

#: Codes other packages pass as terms (`term(listing.list_name)`), marked here so that they are extracted.
TERMS = (N_("red"), N_("black"))
#: How a case the reader may not open is named.
HIDDEN_CASE = N_("a case you cannot see")
#: Stands for HIDDEN_CASE while a message is formatted, so that the quotes around it can be dropped.
_HIDDEN = "\x00hidden-case\x00"
#: Edits and retractions of a case, naming the editor, and the same without them (anonymized cases).
EDITED = {N_("“{title}” was edited by {actor}."): N_("“{title}” was edited."),
          N_("“{title}” was retracted by {actor}."): N_("“{title}” was retracted.")}
#: Placeholders that held a case title as text in rows stored before `case_ref`: {title} always named the
#: notification's own case; these could name either case of a link or a merge.
_EITHER_CASE = ("source", "target", "duplicate", "kept")
#: Notifications stored as bare English text (before message keys) that named a second case, shown instead as:
_LEGACY_TEXT = {NotificationKind.link: N_("“{title}” was linked to another case."),
                NotificationKind.merge: N_("Another case was merged into “{title}”.")}
#: Edits and retractions stored as bare English text (naming the editor), shown instead as, to a reader who may
#: not see the case's organization:
_LEGACY_EDITED = dict(zip((NotificationKind.case_edit, NotificationKind.case_retract), EDITED.values()))


def term(msgid: str, **params) -> dict:
    """A placeholder value that is itself a marked phrase (with its own {placeholders}), translated when shown."""
    return {"msgid": msgid, "params": params} if params else {"msgid": msgid}


def case_ref(case) -> dict:
    """A placeholder value naming `case`: its current title to a reader who may open it, else HIDDEN_CASE."""
    return {"case_id": case.id}


def _case_title(case_id, reader) -> str:
    case = db.session.get(FailureCase, case_id) if isinstance(case_id, int) else None
    if case is None or reader is None or not can(reader, "case.view", case):
        return _HIDDEN
    return case.title


def _value(value, translate, reader) -> str:
    if isinstance(value, dict) and "case_id" in value:
        return _case_title(value["case_id"], reader)
    if isinstance(value, dict) and "msgid" in value:
        text = translate(value["msgid"])
        params = value.get("params") or {}
        if not params:
            return text
        return text.format(**{name: _value(item, translate, reader) for name, item in params.items()})
    if isinstance(value, list):
        return "; ".join(_value(item, translate, reader) for item in value)
    return "" if value is None else str(value)


def _fill(key: str, params: dict, translate, reader) -> str:
    text = translate(key).format(**{name: _value(value, translate, reader) for name, value in params.items()})
    hidden = translate(HIDDEN_CASE)
    text = text.replace(f"“{_HIDDEN}”", _HIDDEN).replace(f"\"{_HIDDEN}\"", _HIDDEN)
    if text.startswith(_HIDDEN):
        hidden_first = hidden[:1].upper() + hidden[1:]
        text = hidden_first + text[len(_HIDDEN):]
    return text.replace(_HIDDEN, hidden)


def english(key: str, params: dict, reader=None) -> str:
    """The message in English as `reader` may read it now (stored beside the key for plain-text consumers)."""
    return _fill(key, params, str, reader)


def render(key: str | None, params: dict | None, stored: str, reader=None) -> str:
    """The message in the current language, with cases named for `reader`; `stored` when it cannot be rendered."""
    if not key:
        return translate_message(stored)
    try:
        return _fill(key, params or {}, gettext, reader)
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder
        return stored


def _hides_editor(reader, case) -> bool:
    return case is not None and case.anonymize and not can(reader, "case.see_org", case)


def _legacy_value(name: str, value, case):
    """A placeholder value stored as text before case references: a case title only when it is safe to show."""
    if case is None or not isinstance(value, str):
        return value
    if name == "title":
        return case_ref(case)
    if name in _EITHER_CASE:
        # the notification's own case (visible, or the row is not shown) or the other one, which cannot be checked
        return case_ref(case) if value == case.title else {"case_id": None}
    return value


def render_notification(n) -> str:
    """The text of notification `n` in the current language, as its owner may read it now."""
    reader, case = n.user, n.case
    key, params = n.message_key, dict(n.message_params or {})
    if not key:
        if case is not None and n.kind in _LEGACY_TEXT:
            key, params = _LEGACY_TEXT[n.kind], {"title": case_ref(case)}
        elif case is not None and n.kind in _LEGACY_EDITED and _hides_editor(reader, case):
            key, params = _LEGACY_EDITED[n.kind], {"title": case_ref(case)}
        else:
            return translate_message(n.message)  # names no case but its own, which the reader may see
    else:
        params = {name: _legacy_value(name, value, case) for name, value in params.items()}
        if key in EDITED and _hides_editor(reader, case):
            key = EDITED[key]
            params.pop("actor", None)
    try:
        return _fill(key, params, gettext, reader)
    except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder: the English message
        try:
            return _fill(key, params, str, reader)
        except (KeyError, IndexError, ValueError):
            return key
