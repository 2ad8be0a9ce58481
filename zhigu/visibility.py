"""One answer for "there is nothing here" and "it is not for you": a hidden row looks exactly like a missing one.

Loaders of cases, comments, links, initiatives and guild listings go through `get_visible`. Whoever asks (a
visitor or a logged-in user) gets the same 404, with the same body, for an id they may not open as for an id
that does not exist, so status codes never tell that a hidden case (or comment, link, ...) exists. Pages and
actions that need a login for an object the reader *may* open still ask visitors to log in (`require`).
"""
from typing import Callable, Iterable, TypeVar

from zhigu.auth.permissions import can
from zhigu.errors import NotFound
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.validation import db_id

T = TypeVar("T")


def get_visible(actor, model: type[T], obj_id, action: str = "case.view", *,
                on: Callable[[T], Iterable] | None = None, message: str = N_("Not found.")) -> T:
    """Load the `model` row `obj_id` if `actor` may take `action` on it (or on each object `on(row)` names).

    :raise 404: with `message`, alike for a missing row and one the actor may not see.
    """
    obj = db.session.get(model, obj_id) if _valid_id(obj_id) else None
    if obj is None or not all(can(actor, action, target) for target in (on(obj) if on else (obj,))):
        raise NotFound(message)
    return obj


def _valid_id(obj_id) -> bool:
    # an id past an integer column would fail in the database (a 500) instead of being "not found"
    return isinstance(obj_id, int) and db_id(obj_id) is not None

