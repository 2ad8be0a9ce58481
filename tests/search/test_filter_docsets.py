"""The facets' and access filters' document sets are rebuilt for every index generation from each segment's
documents of each term, kept across generations: only a new segment's postings are read, and the sets are
those of the live documents."""
from whoosh.query import Term

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.search import statistics
from zhigu.search.services import current_index, search_cases


def facet(page, name: str) -> dict:
    return dict(page.facets[name])


def test_after_an_edit_only_the_new_segment_is_read_and_the_counts_follow_the_edit(ctx, cast, make_case,
                                                                                    monkeypatch):
    energy = [make_case(cast.author, title=f"Solar kettles {n}", sector="energy") for n in range(13)]
    make_case(cast.author, title="Solar clinics", sector="health")
    make_case(cast.author, title="Solar pumps for the park", sector="energy", visibility="park")
    current_index().index.optimize()  # one segment of 15, large enough that the next commit leaves it be
    assert facet(search_cases(None, "solar"), "sector") == {"energy": 13, "health": 1}

    read = []
    reading = statistics.term_blocks
    monkeypatch.setattr(statistics, "term_blocks",
                        lambda reader, fieldname, text: read.append((reader.segment().segment_id(), fieldname,
                                                                     text)) or reading(reader, fieldname, text))
    archive_services.update_case(reload(cast.author), reload(energy[0]), {"sector": "health"})
    page = search_cases(None, "solar")

    assert facet(page, "sector") == {"energy": 12, "health": 2}  # the old document is deleted, the new counted
    assert page.total == 14
    segments = [reader.segment().segment_id() for reader, _ in current_index().searcher().reader().leaf_readers()]
    assert len(segments) == 2
    assert {segment for segment, fieldname, _ in read if fieldname == "sector"} == {segments[-1]}  # the new one's
    assert ("sector", "health") in {(fieldname, text) for _, fieldname, text in read}


def test_a_segment_drops_its_kept_documents_past_the_bound_and_counts_stay_right(ctx, cast, make_case, monkeypatch):
    monkeypatch.setattr(statistics, "MAX_TERM_DOCS", 2)
    make_case(cast.author, title="Solar kettles", sector="energy", target_markets=["KZ"])
    make_case(cast.author, title="Solar clinics", sector="health", target_markets=["KZ", "UZ"])

    page = search_cases(None, "solar")

    assert facet(page, "sector") == {"energy": 1, "health": 1}
    assert facet(page, "market") == {"KZ": 2, "UZ": 1}
    readers = [reader for reader, _ in current_index().searcher().reader().leaf_readers()]
    assert all(len(statistics._segment_counts(reader).term_docs) <= 2 for reader in readers)


def test_what_an_older_searcher_works_out_is_not_kept_for_the_current_one(ctx, cast, make_case):
    """A request holding the searcher it started with, while the thread's searcher moved to a newer generation,
    must not leave its document numbers in the newer generation's caches."""
    make_case(cast.author, title="Solar kettles", sector="energy")
    index = current_index()
    older = index.searcher()
    make_case(cast.author, title="Solar clinics", sector="health")
    newer = index.searcher()
    assert newer is not older

    assert index.derived(older, "answer", lambda: "older") == "older"
    assert index.derived(newer, "answer", lambda: "newer") == "newer"
    assert index.derived(newer, "answer", lambda: "again") == "newer"  # kept for the current searcher
    assert len(index.docset(older, Term("sector", "health"))) == 0
    assert len(index.docset(newer, Term("sector", "health"))) == 1
