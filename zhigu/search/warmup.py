"""Warm-up: what the first searches of a process would otherwise pay for, done in the background at start.

Five things are slow the first time a process needs them: jieba's dictionary (about a second), the
bilingual dictionary of the cross-language stage (zhigu.search.dictionary, about a second), the index
readers, the public document frequencies of the archive's common words (zhigu.search.statistics: a
"find similar" of 200 common words counted them for 6.5 s of CPU at 100,000 cases) and each facet value's
documents (the first search page read them for 3.3 s at 100,000 cases). The warm-up thread loads the first
three and reads the others, so that no request pays for them and none can be made to. Of the statistics it
counts the common words of every text field, and every word of the titles and summaries, whose frequencies
"find similar" weighs its candidates by; then it weighs the candidates' vectors themselves
(similar.warm_vectors: 1.5-1.7 s of CPU and about 90 MB at 10,000 cases, what a process reached after its first few
hundred "find similar" anyway).

A gunicorn worker warms up before it accepts requests (`prepare_to_serve` from post_worker_init); any other process
starts it in the background with the first request it serves. It runs once per process, and again when a
merge has produced a large segment whose counts are not kept yet (PublicStatistics notices it). Off with
SEARCH_WARM_UP = False (the test suite).
"""
import gc
import logging
import os
import threading

from zhigu.search import dense, dictionary
from zhigu.search.analysis import analyse
from zhigu.search.documents import FACETS
from zhigu.search.similar import TEXT_FIELDS, warm_vectors
from zhigu.search.statistics import warm, warm_term_docs, warm_vocabulary

log = logging.getLogger(__name__)

#: Text fields whose public document frequencies rank searches and "find similar".
WARM_FIELDS = ("title", "summary", "body", "causes_text", "comments")
#: Fields whose every term "find similar" weighs (its candidates' term vectors): all counted, rare ones too.
WEIGHED_FIELDS = ("title", "summary")

#: In a serving process after its warm-up, the collector's full passes wait for this many passes of the middle
#: generation (Python's default: 10), besides its own rule of a quarter more long-lived objects.
FULL_PASS_AFTER = 100

_lock = threading.Lock()
_state = {"pid": None, "thread": None, "again": False, "apps": []}


def warm_up(app) -> int:
    """Load jieba, the bilingual dictionary and the index, count the common words' public statistics, read each
    facet value's documents (the facets of the first search page), weigh the public cases' title and summary
    vectors and, with the multilingual extra, read the case embeddings (1.6 s of CPU at 10,000 cases); return
    the terms counted."""
    list(analyse("光伏电站的市场需求"))
    dictionary.dictionary()
    with app.app_context():
        index = app.extensions["zhigu.search"]
        searcher = index.searcher()
        counted = warm(searcher, WARM_FIELDS) + warm_vocabulary(searcher, WEIGHED_FIELDS, TEXT_FIELDS)
        warm_term_docs(searcher, FACETS)
        warm_vectors(searcher)
        if dense.enabled():
            dense.case_vectors()
        return counted


def start(app) -> None:
    """Warm up in a daemon thread unless it is off, running or done in this process (after a fork: not done)."""
    if not app.config.get("SEARCH_WARM_UP", True) or _state["pid"] == os.getpid() and app in _state["apps"]:
        return  # the check every request makes, without the lock
    with _lock:
        if _state["pid"] != os.getpid():
            _state.update(pid=os.getpid(), thread=None, again=False, apps=[])
        if app in _state["apps"]:
            return
        _state["apps"].append(app)
        _run_soon(app)


def warm_now(app) -> int:
    """Warm up in this thread, before the process serves anything (gunicorn's post_worker_init: the worker
    accepts requests once it is warm, so no request waits behind jieba or the counting); return the terms
    counted. Later `start` calls in this process do nothing. A failure is logged and leaves the counting to
    the requests, as in the background."""
    if not app.config.get("SEARCH_WARM_UP", True):
        return 0
    with _lock:
        if _state["pid"] != os.getpid():
            _state.update(pid=os.getpid(), thread=None, again=False, apps=[])
        if app in _state["apps"]:
            return 0
        _state["apps"].append(app)
        _state["thread"] = threading.current_thread()  # a large segment counted now asks for no second run
    try:
        counted = warm_up(app)
    except Exception:  # noqa: BLE001 - as in the background: the requests count what they need
        log.warning("Search warm-up failed", exc_info=True)
        return 0
    finally:
        with _lock:
            _state["thread"] = None
            if _state["again"]:  # asked from another thread meanwhile
                _state["again"] = False
                _run_soon(app)
    log.info("Search warm-up counted %d terms before serving", counted)
    return counted


def again() -> None:
    """Count again (a merge made a large new segment), if this process warmed up before."""
    with _lock:
        if _state["pid"] == os.getpid() and threading.current_thread() is not _state["thread"]:
            for app in _state["apps"]:
                _run_soon(app)


def _run_soon(app) -> None:
    thread = _state["thread"]
    if thread is not None and thread.is_alive():
        _state["again"] = True
        return
    thread = threading.Thread(target=_run, args=(app,), daemon=True, name="zhigu-search-warm-up")
    _state["thread"] = thread
    thread.start()


def _run(app) -> None:
    while True:
        try:
            counted = warm_up(app)
            log.info("Search warm-up counted %d terms", counted)
        except Exception:  # noqa: BLE001 - a failed warm-up only leaves the counting to the requests
            log.warning("Search warm-up failed", exc_info=True)
        with _lock:
            if not _state["again"]:
                return
            _state["again"] = False


def prepare_to_serve(app) -> None:
    """For a long-lived serving process, before it serves (gunicorn's post_worker_init, `zhigu worker`): warm up
    (`warm_now`), then move every object alive out of the cyclic garbage collector's reach and space its full
    passes out. Neither with SEARCH_WARM_UP off (the test suite: frozen objects are never collected).

    The objects alive then (modules, jieba's and the bilingual dictionaries, the index's counts) stay for the
    process's life, yet a full pass of the collector walks them all: 80-170 ms in a web worker at 10,000 cases,
    and each index generation's statistics made one due about as often as generations came. The collector took
    9-10% of the CPU of bench/mix_cpu.py's requests, edits and drains, and 5% with this (bench/README.md).
    """
    if not app.config.get("SEARCH_WARM_UP", True):
        return
    warm_now(app)
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_AFTER)
