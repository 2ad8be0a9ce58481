"""zhigu.trimming: the step that takes out what a viewer may not see before an API dump."""
import pytest

from zhigu.trimming import Shown, shown, trims


class Thing:
    def __init__(self, name, secret):
        self.name = name
        self.secret = secret


class Other:
    secret = "kept"


@trims(Thing)
def _shown_thing(viewer, thing):
    return thing if viewer == "owner" else Shown(thing, secret=None)


def test_shown_reads_given_attributes_and_the_rest_from_the_object():
    thing = Thing("plan", "margin")
    trimmed = Shown(thing, secret=None, extra=[1])
    assert (trimmed.name, trimmed.secret, trimmed.extra) == ("plan", None, [1])
    assert thing.secret == "margin"  # the object itself is untouched
    with pytest.raises(AttributeError):
        trimmed.secret = "changed"
    with pytest.raises(AttributeError):
        trimmed.missing


def test_shown_applies_the_model_trimmer_per_viewer_and_per_item():
    things = [Thing("a", "x"), Thing("b", "y")]
    assert [t.secret for t in shown("visitor", things)] == [None, None]
    assert [t.secret for t in shown("owner", things)] == ["x", "y"]
    other = Other()
    assert shown("visitor", other) is other  # no trimmer: dumped as it is
