"""What a viewer may not see of an object, taken out before the API dumps it (zhigu.schemas.dump_for).

Each domain's services register the trimming step for their models (`@trims(Model)`), next to the `can` rules it
applies; the output schemas dump what they are given and never ask who is looking. A page reads the same rules
through `can` in its template.
"""
from typing import Any, Callable


class Shown:
    """An object as one viewer may see it: the attributes given read as given (None for what is hidden from the
    viewer, or a trimmed child), every other attribute as the object's own. What a trimmer returns."""

    __slots__ = ("_obj", "_given")

    def __init__(self, obj, **given):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_given", given)

    def __getattr__(self, name: str) -> Any:
        given = object.__getattribute__(self, "_given")
        return given[name] if name in given else getattr(object.__getattribute__(self, "_obj"), name)

    def __setattr__(self, name, value):
        raise AttributeError("a Shown object is read-only: change the object it shows")


#: Each model's trimming step (registered with `trims`), run by zhigu.schemas.dump_for before every API dump.
_TRIMMERS: dict[type, Callable[[Any, Any], Any]] = {}


def trims(model: type):
    """Register `trimmer(viewer, obj) -> obj or Shown(obj, ...)`: what of a `model` object `viewer` may not see.

    The domain's services own the rule (as `can` rules are theirs); the output schemas then dump what they are
    given and never ask who is looking.
    """
    def register(trimmer):
        _TRIMMERS[model] = trimmer
        return trimmer
    return register


def shown(viewer, obj):
    """`obj` (or each item of a list of them) as `viewer` may see it, by its model's trimmer; as it is without one."""
    if isinstance(obj, (list, tuple)):
        return [shown(viewer, item) for item in obj]
    trimmer = _TRIMMERS.get(type(obj))
    return trimmer(viewer, obj) if trimmer else obj
