"""SearchIndex: the one place that opens, writes and reads the Whoosh index on disk.

Writers wait for Whoosh's file lock (another process may hold it) up to INDEX_WRITER_TIMEOUT seconds.
Searchers are not thread-safe, so each thread keeps its own and refreshes it before use, which costs
almost nothing when the index has not changed.

A rebuild with several processes (`rebuild(processes=N)`) splits the published cases, in id order, into N
runs of equal length; a forked child per run reads its cases on its own database connection, builds and
analyses their documents and writes one Whoosh segment; the parent, which holds the index's write lock
throughout, then commits a table of contents listing those segments in run order, replacing every old
one. Documents therefore get the same numbers as in a one-process rebuild (so the same ranking, ties
included); only their split into segments differs. Until that commit, searchers see the old index, and a
failure anywhere (a child killed, a database error) cancels the rebuild and leaves the old index in place.
"""
import gc
import logging
import math
import multiprocessing
import os
import threading
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from multiprocessing.connection import wait
from whoosh import index as whoosh_index
from whoosh.writing import CLEAR, SegmentWriter

from zhigu.archive.models import CaseCause, FailureCase
from zhigu.search.documents import build_schema, case_document, should_index, stamp

log = logging.getLogger(__name__)
BATCH = 500
#: Fewest published cases per process of a parallel rebuild: below it a fork costs more than it saves.
MIN_PER_PROCESS = 1000


class SearchIndex:
    def __init__(self):
        self.directory: Path | None = None
        self.writer_timeout = 30.0
        self._index = None
        self._open_lock = threading.Lock()
        self._local = threading.local()

    def init_app(self, app) -> None:
        from zhigu.search.catchup import CatchUp

        self.directory = Path(app.config["INDEX_DIR"])
        self.writer_timeout = float(app.config["INDEX_WRITER_TIMEOUT"])
        self.catch_up = CatchUp(self)
        self.catch_up.poll_interval = float(app.config["INDEX_POLL_INTERVAL"])
        app.extensions["zhigu.search"] = self
        app.before_request(self._catch_up_on_request)

    # -- opening --------------------------------------------------------------------------------------

    @property
    def index(self):
        """Open the index, creating an empty one on first use."""
        if self._index is None:
            with self._open_lock:
                if self._index is None:
                    self.directory.mkdir(parents=True, exist_ok=True)
                    if whoosh_index.exists_in(str(self.directory)):
                        self._index = _with_new_fields(whoosh_index.open_dir(str(self.directory)))
                    else:
                        self._index = whoosh_index.create_in(str(self.directory), build_schema())
        return self._index

    def searcher(self):
        """Return this thread's searcher, reopened when another commit has changed the index.

        Not `Searcher.refresh()`: in whoosh-reloaded 2.7.5 it reuses the old segment readers, so a
        refreshed searcher keeps deleted documents and counts merged segments twice (tests/search).
        """
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or not searcher.up_to_date():
            searcher = self._local.searcher = self.index.searcher()
            self._local.idf = {}
            self._local.docsets = {}
        return searcher

    def docset(self, searcher, query) -> set[int]:
        """Document numbers matching `query` (an access filter), cached until the index changes.

        Whoosh turns a filter query into a set of every matching document on each search: for a visitor
        that is the whole public archive, rebuilt for every "find similar" call.
        """
        key = repr(query)
        docs = self._local.docsets.get(key)
        if docs is None:
            docs = self._local.docsets[key] = set(searcher.docs_for_query(query))
        return docs

    def idf(self, searcher, term: str, fields: tuple[str, ...]) -> float:
        """log(1 + N / df) of a term, df being its largest document frequency over `fields`; 0 if unseen.

        `searcher` is this thread's current searcher (from `searcher()`), whose refresh resets the cache:
        "find similar" asks for the idf of every term of every candidate it re-ranks.
        """
        cache = self._local.idf
        value = cache.get(term)
        if value is None:
            df = max(searcher.doc_frequency(name, term) for name in fields)
            value = cache[term] = math.log(1 + max(searcher.doc_count(), 1) / df) if df else 0.0
        return value

    def writer(self, timeout: float | None = None):
        """A writer, waiting up to `timeout` (at most INDEX_WRITER_TIMEOUT) seconds for Whoosh's lock."""
        timeout = self.writer_timeout if timeout is None else min(timeout, self.writer_timeout)
        return self.index.writer(timeout=timeout)

    def writing(self, timeout: float | None = None, **commit_args):
        """A writer of this index committed at the end of the block, or abandoned when anything fails."""
        return committing(self.writer(timeout), **commit_args)

    # -- writing --------------------------------------------------------------------------------------

    def update_cases(self, ids: Iterable[int], bind=None, raise_errors: bool = False,
                     timeout: float | None = None) -> bool:
        """Re-read the cases from the database and index or unindex each; safe to repeat. False on failure.

        Changes reach the index through the outbox (zhigu.search.outbox.drain); call this directly only to
        repair. With `raise_errors` a failure raises instead of being logged. `timeout`: see `writer`.
        """
        ids = sorted(set(ids))
        if not ids:
            return True
        try:
            with Session(bind or self._engine()) as session, self.writing(timeout) as writer:
                for start in range(0, len(ids), BATCH):
                    chunk = ids[start:start + BATCH]
                    cases = {c.id: c for c in session.scalars(_case_query().where(FailureCase.id.in_(chunk)))}
                    for case_id in chunk:
                        case = cases.get(case_id)
                        if case is not None and should_index(case):
                            writer.update_document(**case_document(case))
                        else:
                            writer.delete_by_term("id", str(case_id))
            return True
        except Exception:
            if raise_errors:
                raise
            log.exception("Search index update failed for %d case(s); run `zhigu search rebuild`", len(ids))
            return False

    def rebuild(self, bind=None, progress: Callable[[int], None] | None = None, processes: int = 1) -> int:
        """Rewrite the whole index from the database; searchers see the old index until the commit.

        Holds the directory's outbox lock meanwhile; a missing or unreadable directory is recreated first.
        `processes` > 1 builds the documents in that many forked processes (see the module docstring).
        """
        from zhigu.search import outbox

        with outbox.directory_lock(self.directory, self.writer_timeout):
            return self.rebuild_locked(bind, progress, processes)

    def rebuild_locked(self, bind=None, progress: Callable[[int], None] | None = None, processes: int = 1) -> int:
        """`rebuild` for a caller that holds the outbox lock; the directory then records the outbox position.

        The position is read before the cases: a change committed later is applied again by the next drain.
        """
        from zhigu.search import outbox

        bind = bind or self._engine()
        self.reset_if_unreadable()
        last_change = outbox.last_change_id(bind)
        if processes > 1:
            count = self._rebuild_parallel(bind, progress, processes)
        else:
            count = self._rebuild(bind, progress)
        outbox.write_applied_change(self.directory, last_change)
        return count

    def _rebuild(self, bind, progress) -> int:
        count = 0
        with Session(bind or self._engine()) as session, self.writing(mergetype=CLEAR) as writer:
            query = _published_query()
            for case in session.scalars(query.execution_options(yield_per=BATCH)):
                writer.add_document(**case_document(case))
                count += 1
                if progress and count % BATCH == 0:
                    progress(BATCH)
        if progress:
            progress(count % BATCH)
        return count

    def _rebuild_parallel(self, bind, progress, processes: int) -> int:
        """Index runs of cases in forked children, one segment each, and commit their segments in run order."""
        with Session(bind) as session:
            ids = list(session.scalars(select(FailureCase.id).where(FailureCase.status == "published")
                                       .order_by(FailureCase.id)))
        processes = min(processes, len(ids) // MIN_PER_PROCESS)
        if processes < 2:
            return self._rebuild(bind, progress)
        runs = [ids[len(ids) * k // processes:len(ids) * (k + 1) // processes] for k in range(processes)]
        runs = [(run[0], run[-1]) for run in runs]
        context = multiprocessing.get_context("fork")  # children inherit the app, the engine and jieba
        done = context.Value("q", 0)
        writer = self.writer()  # the write lock, held until the new table of contents is written
        children = []
        try:
            for first, last in runs:
                receive, send = context.Pipe(duplex=False)
                child = context.Process(target=_index_run, args=(self.directory, bind, first, last, done, send),
                                        daemon=True)
                child.start()
                send.close()
                children.append((child, receive))
            results = _collect(children, done, progress)
            writer._close_segment()  # the parent's own (empty) segment
            # CLEAR: the runs' segments replace every old one
            # (a run whose cases were all unpublished meanwhile wrote an empty segment: left out)
            writer._commit_toc(CLEAR(writer, writer.segments) + [segment for segment, count in results if count])
            writer._finish()
        except BaseException:
            for child, _ in children:
                if child.is_alive():
                    child.kill()
            abandon(writer)
            raise
        finally:
            for child, receive in children:
                child.join()
                receive.close()
        return sum(count for _, count in results)

    def check(self, bind=None) -> dict[str, list[int]]:
        """Compare the index with the database: published cases missing or stale, and documents to remove."""
        indexed = {int(fields["id"]): fields["stamp"] for fields in self.searcher().all_stored_fields()}
        expected = {}
        with Session(bind or self._engine()) as session:
            for case in session.scalars(select(FailureCase).where(FailureCase.status == "published")):
                expected[case.id] = stamp(case)
        return {
            "missing": sorted(set(expected) - set(indexed)),
            "stale": sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i]),
            "extra": sorted(set(indexed) - set(expected)),
        }

    # -- the outbox and the directory's health --------------------------------------------------------

    def drain(self, bind=None, timeout: float | None = None, **kwargs) -> int:
        """Apply the outbox to this directory (see zhigu.search.outbox.drain); raises on failure."""
        from zhigu.search import outbox

        return outbox.drain(self, bind or self._engine(), self.writer_timeout if timeout is None else timeout,
                            **kwargs)

    def drain_quietly(self, bind=None, timeout: float = 2.0) -> bool:
        """Drain after a commit: never raise. On failure the rows stay in the outbox and this process's
        catch-up thread retries until they are applied (zhigu.search.catchup); False then.

        Both waits (the directory's lock and Whoosh's writer lock) are bounded by `timeout`, so a busy
        index delays the request by at most about that long.
        """
        from flask import current_app

        from zhigu.search import outbox

        bind = bind or self._engine()
        try:
            self.drain(bind, timeout)
            return True
        except outbox.Busy:
            log.debug("Index %s busy; the outbox is applied by the process holding it or caught up later",
                      self.directory)
        except Exception:
            log.error("Applying the search outbox to %s failed; the changes stay in the outbox and are retried "
                      "(`zhigu search rebuild` repairs the index)", self.directory, exc_info=True)
        try:
            self.catch_up.schedule(current_app._get_current_object(), bind)
        except Exception:  # noqa: BLE001 - e.g. no thread to be had: the next request's check retries
            log.exception("Could not start the search index catch-up for %s", self.directory)
        return False

    def _catch_up_on_request(self) -> None:
        """Before each request: catch up if this machine's index is behind the outbox (checked once a poll)."""
        from flask import current_app

        app = current_app._get_current_object()
        if app.config["INDEX_INLINE_DRAIN"]:
            self.catch_up.poll(app, self._engine())

    def unsettled_case_ids(self, bind=None) -> set[int] | None:
        """Cases whose documents may not match the database yet (outbox rows after this directory's position).

        None when any document may be stale (no position, or the position is behind a pruned cut). Call it
        *before* taking the searcher: a drain finishing in between then only makes the set larger than needed.
        Never raises: on a database error the answer is None too.
        """
        from zhigu.search import outbox

        try:
            return outbox.pending_case_ids(bind or self._engine(), self.directory)
        except Exception:  # noqa: BLE001 - the caller then re-checks every document instead
            log.warning("Could not read the search outbox; treating every document as unsettled", exc_info=True)
            return None

    def unsettled_docs(self, searcher, docs, unsettled: set[int] | None) -> dict[int, int]:
        """{document number: case id} of the documents in `docs` whose case is in `unsettled` (all when None)."""
        if unsettled is None:
            return {docnum: int(searcher.stored_fields(docnum)["id"]) for docnum in docs}
        found = {}
        for case_id in unsettled:
            # every number: Whoosh may also list the deleted documents of earlier versions
            for docnum in searcher.document_numbers(id=str(case_id)):
                if docnum in docs:
                    found[docnum] = case_id
        return found

    def readable(self) -> bool:
        """Whether the directory holds an index that opens and reads (a fresh handle, not the cached one).

        Whoosh leaves the files of an index it fails to open unclosed: they are collected here, quietly (not
        thread-safe: for the worker and rebuilds, not for request threads).
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            readable = self._readable()
            if not readable:
                gc.collect()
        return readable

    def _readable(self) -> bool:
        try:
            if not whoosh_index.exists_in(str(self.directory)):
                return False
            ix = whoosh_index.open_dir(str(self.directory))
            with ix.searcher() as searcher:
                searcher.doc_count()
                for _ in searcher.all_stored_fields():
                    pass
            ix.close()
            return True
        except Exception as error:  # noqa: BLE001 - any failure to read means the directory needs a rebuild
            # the message only: a record holding the exception would keep Whoosh's open files alive
            log.warning("Search index at %s is unreadable: %s: %s", self.directory, type(error).__name__,
                        str(error))
            return False

    def reset_if_unreadable(self) -> bool:
        """Replace a missing or unreadable index with an empty one (a rebuild fills it); True if it did."""
        from zhigu.search import outbox

        if self.readable():
            return False
        with self._open_lock:
            self._index = None
            self._local = threading.local()
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in self.directory.iterdir():
                if path.name != outbox.LOCK_FILE and path.is_file():
                    path.unlink()
            self._index = whoosh_index.create_in(str(self.directory), build_schema())
        return True

    def document_count(self) -> int:
        return self.searcher().doc_count()

    def delete_ids(self, ids: Iterable[int]) -> None:
        with self.writing() as writer:
            for case_id in ids:
                writer.delete_by_term("id", str(case_id))

    def _engine(self):
        from zhigu.extensions import db
        return db.engine


def _with_new_fields(ix):
    """Add fields the schema gained since the index was created (e.g. `comments`); rebuild fills them."""
    missing = [(name, field) for name, field in build_schema().items() if name not in ix.schema]
    if missing:
        with committing(ix.writer(timeout=30.0)) as writer:
            for name, field in missing:
                writer.add_field(name, field)
        ix = whoosh_index.open_dir(ix.storage.folder)
    return ix


@contextmanager
def committing(writer, **commit_args):
    """Commit `writer` at the end of the block, or abandon it when the block or the commit fails.

    Whoosh's own `with writer:` cancels only when the block fails: a commit that raised kept the write lock
    until garbage collection, and every later index write waited INDEX_WRITER_TIMEOUT for it.
    """
    try:
        yield writer
        writer.commit(**commit_args)
    except BaseException:
        abandon(writer)
        raise


def abandon(writer) -> None:
    """Cancel a failed writer; release its write lock even when cancelling fails as well."""
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception:  # noqa: BLE001 - the lock matters more than a half-closed segment's files
        log.exception("Cancelling a failed index writer failed; releasing its lock")
    finally:
        lock = getattr(writer, "writelock", None)
        if getattr(lock, "fd", None) is not None:  # whoosh's file lock: an open descriptor while held
            lock.release()


def _case_query():
    return select(FailureCase).options(selectinload(FailureCase.case_causes).joinedload(CaseCause.cause))


def _published_query():
    return _case_query().where(FailureCase.status == "published").order_by(FailureCase.id)


def _index_run(directory: Path, bind, first: int, last: int, done, send) -> None:
    """Child of a parallel rebuild: write the published cases with ids first..last as one new segment.

    Sends (segment, count) or an error message; never releases the parent's lock (it holds none itself).
    """
    parent = os.getppid()
    try:
        bind.dispose(close=False)  # the parent's pooled connections stay the parent's
        writer = SegmentWriter(whoosh_index.open_dir(str(directory)), _lk=False)
        count = 0
        with Session(bind) as session:
            query = _published_query().where(FailureCase.id.between(first, last))
            for case in session.scalars(query.execution_options(yield_per=BATCH)):
                writer.add_document(**case_document(case))
                count += 1
                if count % BATCH == 0:
                    if os.getppid() != parent:
                        os._exit(1)  # the parent was killed: nobody will commit this segment
                    with done.get_lock():
                        done.value += BATCH
        with done.get_lock():
            done.value += count % BATCH
        send.send(("ok", writer._finalize_segment(), count))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        send.send(("error", traceback.format_exc(), 0))
    finally:
        send.close()


def _collect(children, done, progress) -> list[tuple]:
    """Wait for every child's (segment, count), reporting progress; raise if one fails or dies."""
    results, reported = {}, 0
    pending = {receive: k for k, (_, receive) in enumerate(children)}
    while pending:
        for receive in wait(list(pending), timeout=0.2):
            k = pending.pop(receive)
            try:
                status, value, count = receive.recv()
            except EOFError:
                children[k][0].join()
                raise RuntimeError(f"Rebuild process {k + 1} died (exit code {children[k][0].exitcode})") from None
            if status != "ok":
                raise RuntimeError(f"Rebuild process {k + 1} failed:\n{value}")
            results[k] = (value, count)
        if progress and done.value > reported:
            progress(done.value - reported)
            reported = done.value
    return [results[k] for k in range(len(children))]
