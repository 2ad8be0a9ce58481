"""Searches of words are matched and scored over posting arrays (zhigu.search.vectorized): the same matches, scores,
order, totals, facets and snippets as Whoosh's own matchers give, over several segments with deleted documents,
for every kind of viewer."""
import pytest
from whoosh.query import And, Not, Or, Term

from helpers import reload
from zhigu.archive import services as archive_services
from zhigu.auth.models import User
from zhigu.extensions import db
from zhigu.search import services, statistics, vectorized
from zhigu.search.services import BadQuery, search_cases

QUERIES = ["solar", "solar pumps", "solar OR kettles", "title:kettles", '"village pumps"', "pumps^3 solar",
           "kettels~", "sola*", "电池 储能", "储能", "payment municipality", "nothingmatchesthis", "solar NOT clinics",
           "sector:energy solar", "cause:market.no_demand pumps", "market:KZ OR kettles", "(solar OR 储能) pumps^0.5"]


@pytest.fixture
def archive(ctx, cast, make_case):
    """Cases in several segments (one commit each), some edited since (their old documents deleted), some only a
    park or their author may open."""
    texts = [("Solar kettles for tea houses", "Kettles heated by the sun; the tea houses wanted gas.", "energy"),
             ("Solar pumps for village wells", "Village pumps ran dry in winter: the solar panels froze.", "agriculture"),
             ("Solar clinics on wheels", "Mobile clinics with solar roofs; the roads washed away.", "health"),
             ("Battery storage for a park", "储能电池 for the industrial park; the grid operator refused.", "energy"),
             ("光伏储能电站", "电池储能项目因电网接入失败而终止。", "energy"),
             ("Kettles that report their use", "Smart kettles nobody wanted to pay a subscription for.", "ecommerce"),
             ("Solar pumps, second attempt", "The village pumps again, with heated pipes; solar solar solar.", "agriculture")]
    cases = [make_case(cast.author, title=title, summary=summary, sector=sector) for title, summary, sector in texts]
    cases.append(make_case(cast.author, title="Solar pumps only park A sees", summary="Pumps for the park, seen by its members.", visibility="park"))
    cases.append(make_case(cast.author, title="Private solar kettles", summary="Kettles only their author may read about.", visibility="private"))
    for case in cases[:3]:
        archive_services.update_case(reload(cast.author), reload(case),
                                     {"lessons": "Ask the buyer to pay before building the solar pumps."})
    readers = services.current_index().searcher().reader()
    assert any(reader.has_deletions() for reader, _ in readers.leaf_readers())
    return cases


def pages_both_ways(monkeypatch, viewer, text: str, **kwargs):
    """The search page computed over posting arrays, then with Whoosh's matchers."""
    ranked = search_cases(viewer, text, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(vectorized, "search", lambda *args, **kw: None)
        whoosh = search_cases(viewer, text, **kwargs)
    return ranked, whoosh


def summary(page):
    return ([(result.case.id, result.snippet) for result in page.results], [result.score for result in page.results],
            page.total, page.facets, page.did_you_mean)


@pytest.mark.parametrize("who", ["visitor", "member_a", "author", "admin"])
def test_every_search_gives_what_whoosh_gives(archive, cast, monkeypatch, who):
    viewer = None if who == "visitor" else db.session.get(User, getattr(cast, who).id)
    searched = []
    original = vectorized._evaluate
    monkeypatch.setattr(vectorized, "_evaluate", lambda query, *args: searched.append(query) or original(query, *args))
    for text in QUERIES:
        for kwargs in ({}, {"per_page": 2, "page": 2}, {"filters": {"sector": ["energy", "agriculture"]}}):
            ranked, whoosh = pages_both_ways(monkeypatch, viewer, text, **kwargs)
            ids, scores, *rest = summary(ranked)
            whoosh_ids, whoosh_scores, *whoosh_rest = summary(whoosh)
            assert ids == whoosh_ids, (text, kwargs)
            assert scores == pytest.approx(whoosh_scores, abs=1e-4), (text, kwargs)
            assert rest == whoosh_rest, (text, kwargs)
    assert searched  # the arrays did the ranking (NOT and the like fell back to Whoosh)


def test_hidden_cases_are_found_only_by_those_who_may_open_them(archive, cast):
    park_case, private_case = archive[-2:]
    member = db.session.get(User, cast.member_a.id)
    other_park = db.session.get(User, cast.member_b.id)

    def found(viewer):
        return {result.case.id for result in search_cases(viewer, "solar", per_page=50).results}

    assert park_case.id in found(member) and private_case.id not in found(member)
    assert park_case.id not in found(other_park) and park_case.id not in found(None)
    assert private_case.id in found(db.session.get(User, cast.author.id))


def test_only_words_are_ranked_over_arrays():
    words = And([Or([Term("title", "solar"), Term("body", "solar", boost=2.0)]), Term("summary", "pump")])
    assert vectorized.supported(words)
    assert not vectorized.supported(And([Term("title", "solar"), Not(Term("title", "clinic"))]))
    assert not vectorized.supported(Or([Term("title", "solar"), Term("title", "pump")], scale=0.1))


def test_a_search_past_its_cpu_budget_is_refused(archive, app):
    app.config["SEARCH_CPU_LIMIT"] = -1.0  # already spent
    with pytest.raises(BadQuery, match="would take too long"):
        search_cases(None, "solar pumps")


def test_the_cpu_clock_is_read_only_once_the_wall_clock_is_past_the_budget(archive, app, monkeypatch):
    """A thread's CPU time grows no faster than the clock; a slow clock (a busy machine) refuses nothing."""
    reads = []
    monkeypatch.setattr(vectorized, "own_cpu_time", lambda: reads.append(1) or 1.0)
    app.config["SEARCH_CPU_LIMIT"] = 5.0
    assert search_cases(None, "solar OR pumps OR village").total > 0
    assert len(reads) == 1  # the budget's start

    clock = iter(range(0, 10**6, 60))  # a minute on the wall clock between two readings
    monkeypatch.setattr(vectorized.time, "perf_counter", lambda: next(clock))
    assert search_cases(None, "solar OR pumps OR village").total > 0  # but no CPU spent: not refused
    assert len(reads) > 2


def test_the_kept_postings_stay_within_their_bound_and_the_results_right(archive, cast, monkeypatch):
    monkeypatch.setattr(vectorized, "MAX_CACHED_POSTINGS", 3)
    vectorized._postings.clear()
    vectorized._held[0] = 0
    for text in ("solar pumps", "kettles", "solar OR village"):
        ranked, whoosh = pages_both_ways(monkeypatch, None, text)
        assert summary(ranked)[0] == summary(whoosh)[0]
        assert vectorized._held[0] <= 3 or len(vectorized._postings) == 1


def test_a_term_a_segment_lacks_is_looked_up_once_and_found_once_a_new_segment_holds_it(archive, cast, make_case,
                                                                                       monkeypatch):
    lookups = []
    original = vectorized.raw_postings
    monkeypatch.setattr(vectorized, "raw_postings", lambda *args: lookups.append(args[1:]) or original(*args))
    vectorized._postings.clear()
    vectorized._held[0] = 0
    assert search_cases(None, "zeppelins").total == 0
    segments = len(lookups)
    assert search_cases(None, "zeppelins").total == 0
    assert len(lookups) == segments  # each segment's "not here" was kept

    make_case(cast.author, title="Zeppelins for freight", summary="Airships carrying freight to the mountain mines.")
    assert search_cases(None, "zeppelins").total == 1  # the new segment is looked in, and holds it
    assert len(lookups) > segments


def test_a_cases_documents_are_listed_as_whoosh_lists_them(archive):
    searcher = services.current_index().searcher()
    for case in archive:
        listed = vectorized.term_documents(searcher, "id", str(case.id))
        assert listed == sorted(searcher.document_numbers(id=str(case.id)))
        assert len(listed) == 1  # not the deleted document of the version before the fixture's edit
    assert vectorized.term_documents(searcher, "id", "999999") == []


DESCRIPTIONS = ["Solar pumps for village wells froze in winter; the buyer never paid for the heated pipes.",
                "储能电池项目因电网接入失败而终止", "Smart kettles for tea houses, sold by subscription"]


@pytest.mark.parametrize("who", ["visitor", "member_a", "admin"])
def test_find_similar_gives_what_whoosh_gives(archive, cast, monkeypatch, who):
    from zhigu.search import similar

    viewer = None if who == "visitor" else db.session.get(User, getattr(cast, who).id)
    ranked_calls = []
    original = vectorized.top_hits
    monkeypatch.setattr(vectorized, "top_hits", lambda *args, **kw: ranked_calls.append(args) or original(*args, **kw))
    for description in DESCRIPTIONS:
        for kwargs in ({}, {"exclude_id": archive[1].id, "sector": "agriculture", "markets": ["KZ"],
                            "causes": ["market.no_demand"]}):
            ranked = similar.similar_cases(viewer, description, **kwargs)
            with monkeypatch.context() as patch:
                patch.setattr(vectorized, "top_hits", lambda *args, **kw: None)
                patch.setattr(vectorized, "matched_terms", lambda *args, **kw: None)
                whoosh = similar.similar_cases(viewer, description, **kwargs)
            assert [(hit.case.id, hit.why) for hit in ranked] == [(hit.case.id, hit.why) for hit in whoosh]
            assert [hit.score for hit in ranked] == pytest.approx([hit.score for hit in whoosh], abs=1e-4)
            assert ranked, description
            if "exclude_id" in kwargs:
                assert kwargs["exclude_id"] not in {hit.case.id for hit in ranked}
    assert ranked_calls


def test_a_new_small_segment_whose_terms_are_known_is_not_asked_for_a_term_it_lacks(archive, cast, monkeypatch):
    from zhigu.search import similar

    assert similar.similar_cases(None, DESCRIPTIONS[0])  # this generation's statistics, with the text idfs
    archive_services.update_case(reload(cast.author), reload(archive[5]), {"lessons": "Charge for the kettles."})
    lookups = []
    original = vectorized.raw_postings
    monkeypatch.setattr(vectorized, "raw_postings", lambda *args: lookups.append(args) or original(*args))
    vectorized._postings.clear()
    vectorized._held[0] = 0

    ranked, whoosh = pages_both_ways(monkeypatch, None, "kettles OR zeppelins")
    found = similar.similar_cases(None, DESCRIPTIONS[2])

    assert summary(ranked) == summary(whoosh)
    assert archive[5].id in {hit.case.id for hit in found}
    readers = [reader for reader, _ in services.current_index().searcher().reader().leaf_readers()]
    assert any(statistics.known_terms(reader, "title") for reader in readers)  # the edit's segment, read on carrying
    assert lookups
    for reader, fieldname, text in lookups:
        terms = statistics.known_terms(reader, fieldname)
        assert terms is None or text in terms


def test_the_terms_a_document_matched_are_those_under_every_matching_and_and_or(archive):
    searcher = services.current_index().searcher()
    pumps = next(searcher.docs_for_query(Term("id", str(archive[1].id))))
    query = Or([And([Term("title", "solar"), Term("title", "pump")]), And([Term("summary", "winter"), Term("title", "kettl")]),
                Term("summary", "villag"), Term("summary", "nothingsuch")])

    found = vectorized.matched_terms(searcher, query, [pumps])

    assert found == {pumps: {("title", "solar"), ("title", "pump"), ("summary", "villag")}}
    assert vectorized.matched_terms(searcher, Term("summary", "nothingsuch"), [pumps]) == {}


def test_a_search_parses_with_its_searchers_schema_not_the_newest_table_of_contents(archive, app, monkeypatch):
    """Another process's commit deletes the table of contents it replaced: read between listing the directory
    and opening the file, it made a search fail with a 500 under bench/load.py."""
    from whoosh.index import FileIndex

    services.current_index().searcher()  # this thread's searcher, open before the commit

    def deleted(self):
        raise FileNotFoundError("_MAIN_68.toc")

    monkeypatch.setattr(FileIndex, "_read_toc", deleted)
    assert search_cases(None, "solar pumps").total > 0
