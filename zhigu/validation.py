"""Input the database, the pages and the exports can hold, checked once for every way in.

Contract: a value that reaches a model is text every database and file can store. Three layers keep it so:

- `BaseSchema` (zhigu.schemas) refuses, in every schema and for every field (list items and dict values
  included), text holding NUL (PostgreSQL cannot store it) or an unpaired surrogate (no UTF-8 file, page or
  PostgreSQL can hold it; JSON's "\\ud800" escape makes one); every integer field is a `DbInt`, which refuses
  integers a SQL `integer` column cannot hold (floats such as 1e308 or 3e9 included): 422 with the field's
  message, never a 500.
- `init_app` refuses such characters in query strings (400) and URL parts (404), and a flush listener refuses text
  longer than its `String(n)` column or holding such characters, whatever wrote it (a normalised saved search,
  a CLI): the same 422 instead of a database error on PostgreSQL, and the same rule on SQLite.
- JSON bodies and import lines nested deeper than MAX_JSON_DEPTH are refused before they are parsed.

Rows stored before these checks (a "\\ud800" escape in a JSON column, which SQLite and PostgreSQL's `json`
accept) are read with U+FFFD in its place, so their pages, exports and backups work and an edit repairs them.

Bidirectional controls are not refused (they can be quoted text); pages and rendered markdown drop them
(`strip_bidi`).
"""
import json
import math
import re
from functools import lru_cache

from flask import Flask, request
from marshmallow import ValidationError
from sqlalchemy import JSON, String, event, inspect as sa_inspect
from werkzeug.exceptions import BadRequest, NotFound

from zhigu.db import Base
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.limits import MAX_INTEGER

#: NUL and the surrogate code points, which are only ever half of a pair that UTF-8 cannot encode.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
SURROGATES = re.compile("[\ud800-\udfff]")
UNSTORABLE_MESSAGE = N_("This text holds a character that cannot be stored (NUL or an unpaired surrogate).")
OUT_OF_RANGE = N_("Number out of range.")
NOT_AN_INTEGER = N_("Not a valid integer.")
TOO_LONG = N_("Longer than maximum length {max}.")
#: Deeper JSON than this is refused before it is parsed: no form or record of ours nests more than 3 levels.
MAX_JSON_DEPTH = 64
TOO_DEEP = N_("The JSON is nested more than {depth} levels deep.")

#: Embeddings, overrides, isolates, and the LRM/RLM/ALM marks: they make text read unlike what it is
#: ("invoice\u202egpj.exe" shows as "invoiceexe.jpg"); no Chinese or English text needs them.
BIDI_CHARACTERS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
BIDI_TABLE = dict.fromkeys(map(ord, BIDI_CHARACTERS))


def strip_bidi(text: str) -> str:
    """Drop bidirectional controls from `text` (Markup stays Markup): for pages, previews and e-mails."""
    if not isinstance(text, str):
        return text
    return type(text)(str.translate(text, BIDI_TABLE))


def printable(text: str) -> str:
    """`text` with unpaired surrogates replaced by U+FFFD, so rows stored before this check still render."""
    if isinstance(text, str) and SURROGATES.search(text):
        return type(text)(SURROGATES.sub("\ufffd", str(text)))
    return text


def has_unstorable(value) -> bool:
    """Whether a value, or any string inside it (list items, dict keys and values), holds NUL or a surrogate."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, (list, tuple, set)):
        return any(has_unstorable(item) for item in value)
    if isinstance(value, dict):
        return any(has_unstorable(key) or has_unstorable(item) for key, item in value.items())
    return False


def integer_problem(value) -> str | None:
    """Why `value` cannot be an integer column's value (a message), or None to let the field decide."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return NOT_AN_INTEGER
        value = int(value)
    elif isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None  # the field says "Not a valid integer."
    if isinstance(value, int) and not -(MAX_INTEGER + 1) <= value <= MAX_INTEGER:
        return OUT_OF_RANGE
    return None


def db_id(value) -> int | None:
    """`value` as a row id if it is one an integer column can hold (an int, or ASCII digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_INTEGER:
        return value
    return None


def input_errors(schema, data: dict) -> dict:
    """Messages for the fields of `data` that `schema` loads holding text no column could store; {} when none."""
    errors = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data and has_unstorable(data[key]):
            errors[key] = [UNSTORABLE_MESSAGE]
    return errors


# -- JSON depth -----------------------------------------------------------------------------------------------

def _depth(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_too_deep(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`.

    Linear in the size of the text: the parser's own recursion guard catches the deepest texts, and a walk
    measures the rest. (A regular expression that skips strings was quadratic on unterminated ones.) Text
    that is not JSON is not "too deep": the caller's own parse reports it.
    """
    opening = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    if raw.count(opening[0]) + raw.count(opening[1]) <= limit:
        return False
    try:
        return _depth(json.loads(raw)) > limit
    except RecursionError:
        return True
    except ValueError:
        return False


def too_deep_message(limit: int = MAX_JSON_DEPTH) -> str:
    return TOO_DEEP.format(depth=limit)


# -- the request and the database -----------------------------------------------------------------------------

def refuse_unstorable_url() -> None:
    """400 for a query string holding NUL or a surrogate, 404 for such a URL part: never a database error."""
    for key, values in request.args.lists():
        if has_unstorable(key) or has_unstorable(values):
            raise BadRequest(UNSTORABLE_MESSAGE)
    if request.view_args and has_unstorable(list(request.view_args.values())):
        raise NotFound()


@lru_cache(maxsize=None)
def _text_columns(mapper) -> tuple[tuple[str, int | None], ...]:
    """(attribute, String length or None) of a mapper's text and JSON columns: worked out once per model, not
    once per flushed row (an import of 10,000 cases flushes 20,000 rows)."""
    found = []
    for attr in mapper.column_attrs:
        if len(attr.columns) != 1:
            continue
        column_type = attr.columns[0].type
        if isinstance(column_type, (String, JSON)):
            found.append((attr.key, column_type.length if isinstance(column_type, String) else None))
    return tuple(found)


def _column_errors(obj) -> dict:
    """Messages for the changed column values of a new or modified row that its columns cannot hold."""
    state = sa_inspect(obj)
    errors = {}
    for key, length in _text_columns(state.mapper):
        if state.persistent and not state.attrs[key].history.has_changes():
            continue
        value = state.dict.get(key)
        if value is None or not isinstance(value, (str, list, dict)):
            continue
        if has_unstorable(value):
            errors[key] = [UNSTORABLE_MESSAGE]
        elif length and isinstance(value, str) and len(value) > length:
            errors[key] = [TOO_LONG.format(max=length)]
    return errors


def refuse_unstorable_rows(session, flush_context, instances) -> None:
    """before_flush: a 422 (ValidationError) for text a column cannot hold, before the database fails on it."""
    errors = {}
    for obj in (*session.new, *session.dirty):
        errors.update(_column_errors(obj))
    if errors:
        raise ValidationError(errors)


def _repaired(value):
    """A JSON value with its unpaired surrogates replaced by U+FFFD (the value itself when it holds none)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        items = [_repaired(item) for item in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, dict):
        pairs = {_repaired(key): _repaired(item) for key, item in value.items()}
        same = all(a is b for a, b in zip(pairs.values(), value.values())) and list(pairs) == list(value)
        return value if same else pairs
    return value


def repair_loaded_json(target, *args) -> None:
    """load/refresh: JSON columns are the one place SQLite kept lone surrogates before inputs were checked
    (as a "\ud800" escape); show them as U+FFFD so pages, exports and backups of such rows still work.

    Only what was read changes: the row is rewritten only if the user saves that field. A value is walked only
    when its JSON text holds a surrogate (encoded in C): walking every loaded row's lists and dicts in Python was
    3% of a case page's CPU."""
    state = sa_inspect(target)
    for key in _json_keys(state.mapper):
        value = state.dict.get(key)
        if value is not None and SURROGATES.search(json.dumps(value, ensure_ascii=False)) \
                and (repaired := _repaired(value)) is not value:
            state.dict[key] = repaired


_JSON_KEYS: dict = {}


def _json_keys(mapper) -> tuple[str, ...]:
    if mapper not in _JSON_KEYS:
        _JSON_KEYS[mapper] = tuple(attr.key for attr in mapper.column_attrs
                                   if len(attr.columns) == 1 and isinstance(attr.columns[0].type, JSON))
    return _JSON_KEYS[mapper]


def init_app(app: Flask) -> None:
    """Check query strings on every request and rows on every flush of the app's session."""
    app.before_request(refuse_unstorable_url)
    if not event.contains(db.session, "before_flush", refuse_unstorable_rows):
        event.listen(db.session, "before_flush", refuse_unstorable_rows)
    for mapper in Base.registry.mappers:  # every model is imported by now (the blueprints import them)
        if _json_keys(mapper):
            for name in ("load", "refresh"):
                if not event.contains(mapper.class_, name, repair_loaded_json):
                    event.listen(mapper.class_, name, repair_loaded_json)
