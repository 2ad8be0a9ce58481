"""The statistics a member's scores use (zhigu.search.statistics) count exactly the documents they may open,
whichever way a term's postings are matched against a set of documents (intersected or skipped through)."""
import pytest

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.search import statistics
from zhigu.search.services import current_index, visible_statistics

SOLAR = dict(title="Solar kettles for clinics", summary="Solar kettles boiled water for rural clinics.",
             lessons="Check the grid plans of the clinics first.")
WORDS = [("title", "solar"), ("summary", "kettl"), ("summary", "clinic"), ("title", "pump"), ("body", "grid")]


def brute_force_frequency(searcher, allowed: set[int], fieldname: str, text: str) -> int:
    """Live documents the viewer may open that hold the term, read one by one."""
    if (fieldname, text) not in searcher.reader():
        return 0
    return len(allowed & set(searcher.reader().postings(fieldname, text).all_ids()))


@pytest.mark.parametrize("ratio", [0, 10**9], ids=["skipped-through", "intersected"])
def test_a_members_document_frequencies_count_what_they_may_open(ctx, cast, make_case, monkeypatch, ratio):
    for n in range(4):
        make_case(cast.author, **dict(SOLAR, title=f"Solar kettles for clinics {n}"))
    for n in range(3):
        make_case(cast.curator_b, **dict(SOLAR, title=f"Solar pumps for farms {n}", visibility="park"))
    make_case(cast.curator_a, **dict(SOLAR, title="Solar pumps in Osh", visibility="park"))  # park A's
    edited = make_case(cast.author, **dict(SOLAR, title="Solar pumps for clinics"))
    archive_services.update_case(reload(cast.author), reload(edited), {"title": "Kettles for clinics"})  # a deletion
    monkeypatch.setattr(statistics, "INTERSECT_RATIO", ratio)
    statistics._VIEWERS.clear()
    statistics._STATISTICS.clear()

    searcher = current_index().searcher()
    stats, allowed = visible_statistics(searcher, reload(cast.member_b))

    assert stats.doc_count == len(allowed) == 4 + 3 + 1
    for fieldname, text in WORDS:
        assert stats.doc_frequency(fieldname, text) == brute_force_frequency(searcher, allowed, fieldname, text), text
    assert stats.doc_frequency("title", "pump") == 3  # park B's three, not park A's nor the edited case's old one
