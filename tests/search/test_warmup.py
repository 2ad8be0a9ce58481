"""The warm-up counts the common words' public statistics ahead of requests, once per process, in the
background; "find similar" compares a bounded share of a long description."""
import gc
import importlib.util
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import close_app, in_app
from zhigu import create_app
from zhigu.search import similar, statistics, warmup


@pytest.fixture
def fresh_warm_up(monkeypatch):
    """Warm-up state as in a new process, every segment's counts forgotten, and no segment small enough to
    have its terms all counted at once."""
    monkeypatch.setattr(warmup, "_state", {"pid": None, "thread": None, "again": False, "apps": []})
    monkeypatch.setattr(statistics, "_SEGMENTS", {})
    monkeypatch.setattr(statistics, "WHOLE_FIELD_MAX_DOCS", 0)
    monkeypatch.setattr(statistics, "WARM_MIN_DF", 2)


@pytest.fixture
def collector(monkeypatch):
    """gc.freeze and gc.set_threshold recorded, not done: a frozen test process would never free what it froze."""
    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *thresholds: calls.append(thresholds))
    return calls


#: What prepare_to_serve asks of the collector, once warm.
SETTLED = ["freeze", (*gc.get_threshold()[:2], warmup.FULL_PASS_AFTER)]


def _counted(app) -> dict:
    with in_app(app):
        searcher = app.extensions["zhigu.search"].searcher()
        return {key: count for reader, _ in searcher.reader().leaf_readers()
                for key, count in statistics._segment_counts(reader).df.items()}


def test_warm_up_counts_common_words_and_every_title_and_summary_word_but_not_other_rare_ones(app, cast, make_case,
                                                                                              fresh_warm_up):
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.", lessons="Ask the porters.")
    make_case(cast.author, title="Private kettles", summary="Kettles only the park sees.", visibility="private")
    app.extensions["zhigu.search"].index.optimize()  # one segment: the threshold counts per segment

    counted = warmup.warm_up(app)
    counts = _counted(app)

    assert counted > 0
    assert counts[("title", "kettl")] == 2  # the private case's title is not counted
    # a title's rare word, in every text field "find similar" weighs it by
    assert (counts[("title", "hotel")], counts[("summary", "hotel")], counts[("body", "hotel")]) == (1, 0, 0)
    assert ("body", "porter") not in counts  # a rare word of the narrative alone: counted when first asked for
    assert warmup.warm_up(app) == 0  # already counted in this process


def test_warm_up_reads_every_facet_values_documents_so_the_first_search_reads_none(app, cast, make_case,
                                                                                    fresh_warm_up, monkeypatch):
    make_case(cast.author, title="Kettles for tea houses", sector="energy", target_markets=["KZ", "UZ"])
    make_case(cast.author, title="Kettles for hotels", sector="tourism")
    warmup.warm_up(app)
    read = []
    reading = statistics.term_blocks
    monkeypatch.setattr(statistics, "term_blocks",
                        lambda reader, fieldname, text: read.append((fieldname, text)) or reading(reader, fieldname, text))

    with in_app(app):
        from zhigu.search.services import search_cases
        page = search_cases(None, "kettles")

    assert dict(page.facets["sector"]) == {"energy": 1, "tourism": 1}
    assert dict(page.facets["market"]) == {"KZ": 2, "UZ": 1}
    assert not [(fieldname, text) for fieldname, text in read if fieldname in ("sector", "market", "allowed")]


def test_warm_up_weighs_the_public_cases_vectors_so_find_similar_weighs_none(app, cast, make_case, fresh_warm_up,
                                                                            monkeypatch):
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water for tea houses.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in hotel rooms.")
    make_case(cast.author, title="Private kettles", summary="Kettles only the park sees.", visibility="private")
    app.extensions["zhigu.search"].index.optimize()  # one large segment: its vectors live along the lineage

    warmup.warm_up(app)
    weighed = []
    weighing = similar._weighed
    monkeypatch.setattr(similar, "_weighed", lambda *args: weighed.append(args[1]) or weighing(*args))
    with in_app(app):
        searcher = app.extensions["zhigu.search"].searcher()
        stats = statistics.public_statistics(searcher)
        kept = stats.lineage.derived["vectors"]
        found = similar.similar_cases(None, description="Kettles for hotel rooms and tea houses")
        assert sorted(kept) == sorted(stats.live_documents())  # the two public cases, not the private one
        assert not weighed  # every candidate's vector was ready
        assert {docnum: kept[docnum][:2] for docnum in kept} == \
            {docnum: weighing(stats, similar._term_weights(searcher, docnum)) for docnum in kept}
    assert {result.case.title for result in found} == {"Kettles for tea houses", "Kettles for hotels"}


def test_warm_up_weighs_at_most_its_share_of_the_vectors(app, cast, make_case, fresh_warm_up):
    for n in range(3):
        make_case(cast.author, title=f"Kettles for hotels {n}", summary="Kettles in hotel rooms.")
    app.extensions["zhigu.search"].index.optimize()

    with in_app(app):
        searcher = app.extensions["zhigu.search"].searcher()
        assert similar.warm_vectors(searcher, limit=2) == 2
        assert similar.warm_vectors(searcher, limit=2) == 0  # kept already
        assert len(statistics.public_statistics(searcher).lineage.derived["vectors"]) == 2


def test_a_small_segment_has_all_its_terms_counted_at_the_first_question(app, cast, make_case, fresh_warm_up,
                                                                          monkeypatch):
    monkeypatch.setattr(statistics, "WHOLE_FIELD_MAX_DOCS", 256)
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.")
    for n in range(2):
        make_case(cast.author, title=f"Private kettles for zebras {n}", summary="Kettles only the park sees.",
                  visibility="private")
    app.extensions["zhigu.search"].index.optimize()

    assert warmup.warm_up(app) > 0
    counts = _counted(app)

    assert counts[("title", "kettl")] == 2 and counts[("title", "hotel")] == 1  # rare words too, at once
    assert ("title", "zebra") not in counts  # only the private cases hold it
    assert warmup.warm_up(app) == 0  # nothing left to count, not even the words no public document holds


def test_the_first_request_starts_the_warm_up_once_in_the_background(app, client, cast, make_case,
                                                                     fresh_warm_up, monkeypatch):
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.")
    app.extensions["zhigu.search"].index.optimize()
    runs, done = [], threading.Event()
    original = warmup.warm_up

    def counting_warm_up(app_):
        runs.append(threading.current_thread().name)
        try:
            return original(app_)
        finally:
            done.set()

    monkeypatch.setattr(warmup, "warm_up", counting_warm_up)
    app.config["SEARCH_WARM_UP"] = True

    client.get("/")
    client.get("/")
    assert done.wait(30)
    warmup._state["thread"].join(30)

    assert runs == ["zhigu-search-warm-up"]
    assert ("title", "kettl") in _counted(app)


def test_warm_up_is_off_when_configured_off(app, client, fresh_warm_up):
    assert app.config["SEARCH_WARM_UP"] is False  # the suite's setting
    client.get("/")
    assert warmup._state["thread"] is None


def test_similar_compares_the_first_pages_of_a_long_description(app, cast, make_case, monkeypatch):
    kettles = make_case(cast.author, title="Kettles for tea houses", summary="Smart kettles reported their use.")
    aardvarks = make_case(cast.author, title="Aardvark farming", summary="Aardvarks bred for a zoo.")
    monkeypatch.setattr(similar, "SIMILAR_MAX_CHARS", 200)
    padding = "kettles and tea houses " * 9  # 207 characters

    with in_app(app):
        found = similar.similar_cases(None, description=padding + " aardvark farming for a zoo " * 50)

    assert [result.case.id for result in found] == [kettles.id]
    assert aardvarks.id not in {result.case.id for result in found}


def test_a_segments_counts_are_kept_across_searchers_and_threads(app, cast, make_case, fresh_warm_up):
    """Keyed by a compound segment's overlay storage, the counts were lost with every new searcher."""
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    index = app.extensions["zhigu.search"]

    def counts_by_segment():
        with in_app(app):
            return {reader.segment().segment_id(): statistics._segment_counts(reader)
                    for reader, _ in index.searcher().reader().leaf_readers()}

    before = counts_by_segment()
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.")  # a commit: a new searcher
    after, elsewhere = counts_by_segment(), {}
    thread = threading.Thread(target=lambda: elsewhere.update(counts_by_segment()))
    thread.start()
    thread.join(30)

    assert len(after) == len(before) + 1
    for segment_id, counts in before.items():
        assert after[segment_id] is counts and elsewhere[segment_id] is counts


def test_document_sets_read_by_blocks_match_whoosh_and_leave_deleted_documents_out(app, cast, make_case):
    from whoosh.query import Or, Term

    from zhigu.search.index import _matching_docs

    energy = [make_case(cast.author, sector="energy", title=f"Solar pilot {n}") for n in range(3)]
    make_case(cast.author, sector="health", title="Clinic kiosks")
    make_case(cast.author, sector="energy", title="Grid batteries", status="retracted")  # indexed, then deleted
    index = app.extensions["zhigu.search"]

    with in_app(app):
        searcher = index.searcher()
        for query in (Term("sector", "energy"), Or([Term("sector", "energy"), Term("sector", "health")]),
                      Term("sector", "mining"), Or([Term("allowed", "public")])):
            assert _matching_docs(searcher, query) == set(searcher.docs_for_query(query)), query
        ids = {int(searcher.stored_fields(docnum)["id"]) for docnum in _matching_docs(searcher, Term("sector", "energy"))}

    assert ids == {case.id for case in energy}


#: What the sample gunicorn.conf.py leaves to `zhigu worker` unless told otherwise, and how it says so.
LEFT_TO_THE_WORKER = {"ZHIGU_EMBED_AT_DRAIN": "0", "ZHIGU_NEIGHBOURS_AT_DRAIN": "0", "ZHIGU_INDEX_INLINE_DRAIN": "false"}


def load_gunicorn_conf(monkeypatch, given: str | None = None):
    """The sample gunicorn.conf.py, read as gunicorn reads it, with LEFT_TO_THE_WORKER's variables set to `given`
    (None: unset); the variables it sets are undone after the test."""
    for name in LEFT_TO_THE_WORKER:
        monkeypatch.setenv(name, given or "")
        if given is None:
            monkeypatch.delenv(name)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).parents[2] / "gunicorn.conf.py")
    gunicorn_conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gunicorn_conf)
    return gunicorn_conf


@pytest.mark.parametrize("given", [None, "20"])
def test_gunicorn_workers_leave_the_outbox_embedding_and_lists_to_zhigu_worker_unless_told_otherwise(monkeypatch,
                                                                                                     given):
    load_gunicorn_conf(monkeypatch, given)

    expected = list(LEFT_TO_THE_WORKER.values()) if given is None else [given] * len(LEFT_TO_THE_WORKER)
    assert [os.environ[name] for name in LEFT_TO_THE_WORKER] == expected


def test_an_app_created_under_the_sample_gunicorn_conf_leaves_the_outbox_to_zhigu_worker(monkeypatch, tmp_path):
    load_gunicorn_conf(monkeypatch)
    monkeypatch.setenv("ZHIGU_DATABASE_URL", f"sqlite:///{tmp_path / 'gunicorn.sqlite'}")
    monkeypatch.setenv("ZHIGU_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ZHIGU_SECRET_KEY", "gunicorn-test")

    served = create_app()  # as gunicorn's "zhigu:create_app()"
    try:
        assert served.config["INDEX_INLINE_DRAIN"] is False
        assert served.config["NEIGHBOURS_AT_DRAIN"] == 0
    finally:
        close_app(served)


def test_a_gunicorn_worker_warms_up_before_it_serves_and_starts_no_thread(app, client, cast, make_case,
                                                                           fresh_warm_up, monkeypatch, collector):
    """Then what it loaded is kept out of the garbage collector's passes, whose full passes are spaced out."""
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.")
    app.extensions["zhigu.search"].index.optimize()
    app.config["SEARCH_WARM_UP"] = True
    gunicorn_conf = load_gunicorn_conf(monkeypatch)

    gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app))  # what gunicorn calls before the accept loop

    assert ("title", "kettl") in _counted(app)  # counted already, in this thread
    assert collector == SETTLED
    client.get("/")
    assert warmup._state["thread"] is None  # the first request starts no second warm-up


def test_a_gunicorn_worker_warming_up_large_segments_starts_no_second_warm_up(app, client, cast, make_case,
                                                                              fresh_warm_up, monkeypatch):
    """Counting a large segment for the first time asks for a warm-up again (a merge made it); during the
    worker's own warm-up that is this very warm-up: a second one in the background ran it all again while the
    worker served its first requests (at 100,000 cases 40 s of CPU, the first search 4 s)."""
    make_case(cast.author, title="Kettles for tea houses", summary="Kettles boil water.")
    make_case(cast.author, title="Kettles for hotels", summary="Kettles in rooms.")
    monkeypatch.setattr(statistics, "REWARM_MIN_DOCS", 1)  # every segment counts as large
    app.config["SEARCH_WARM_UP"] = True

    assert warmup.warm_now(app) > 0
    client.get("/")

    assert warmup._state["thread"] is None


def test_zhigu_worker_warms_up_after_its_first_pass(app, cast, make_case, fresh_warm_up, monkeypatch, collector):
    """The worker computes nearest-case lists from the first edit on: weighing every candidate the first time
    it met it was a fifth of its CPU in bench/load.py's first minute."""
    from zhigu.search import worker

    make_case(cast.author, title="Kettles for hotels", summary="Kettles in hotel rooms.")
    app.config["SEARCH_WARM_UP"] = True
    warmed = []
    monkeypatch.setattr(warmup, "warm_up", lambda served: warmed.append(served) or 1)

    def stop(seconds):  # the end of the first poll
        raise SystemExit(0)

    monkeypatch.setattr(worker.time, "sleep", stop)
    result = app.test_cli_runner().invoke(args=["worker"])

    assert result.exit_code == 0, result.output
    assert warmed == [app] and collector == SETTLED


def test_a_process_that_does_not_warm_up_leaves_the_collector_alone(app, fresh_warm_up, collector):
    """SEARCH_WARM_UP off (the test suite, short commands): nothing frozen, the thresholds as they were."""
    warmup.prepare_to_serve(app)

    assert collector == [] and warmup._state["apps"] == []
