"""Rewrite the whole index from the database, in one process or several.

A rebuild with several processes splits the published cases, in id order, into N runs of equal length; a
forked child per run reads its cases on its own database connection, builds and analyses their documents
and writes one Whoosh segment; the parent, which holds the index's write lock throughout, then commits a
table of contents listing those segments in run order, replacing every old one. Documents therefore get
the same numbers as in a one-process rebuild (so the same ranking, ties included); only their split into
segments differs. Until that commit, searchers see the old index, and a failure anywhere (a child killed, a
database error) cancels the rebuild and leaves the old index in place. The new index has the current
schema (documents.build_schema), whatever the old one had.

This knows nothing of the outbox: zhigu.search.outbox.rebuild takes the directory's lock and records its
position around it.
"""
import multiprocessing
import os
import traceback
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.writing import CLEAR

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.search.documents import build_schema, case_documents
from zhigu.search.index import BATCH, SearchIndex, abandon, case_query
from zhigu.search.writing import IndexWriter

#: Fewest published cases per process of a parallel rebuild: below it a fork costs more than it saves.
MIN_PER_PROCESS = 1000


def published_query():
    """Every published case in id order: what a rebuild writes, in the order documents are numbered."""
    return case_query().where(FailureCase.status == CaseStatus.published).order_by(FailureCase.id)


def rewrite_index(index: SearchIndex, bind, progress: Callable[[int], None] | None = None,
                  processes: int = 1) -> int:
    """Replace every document of `index` with the published cases; return how many were written.

    `processes` > 1 builds the documents in that many forked processes (see the module docstring).
    """
    if processes > 1:
        return _rebuild_parallel(index, bind, progress, processes)
    return _rebuild(index, bind, progress)


def _rebuild(index: SearchIndex, bind, progress) -> int:
    count = 0
    with Session(bind) as session, index.writing(schema=build_schema(), mergetype=CLEAR) as writer:
        for batch in session.scalars(published_query().execution_options(yield_per=BATCH)).partitions():
            for document in case_documents(session, batch):
                writer.add_document(**document)
            count += len(batch)
            if progress and len(batch) == BATCH:
                progress(BATCH)
    if progress:
        progress(count % BATCH)
    return count


def _rebuild_parallel(index: SearchIndex, bind, progress, processes: int) -> int:
    """Index runs of cases in forked children, one segment each, and commit their segments in run order."""
    with Session(bind) as session:
        ids = list(session.scalars(select(FailureCase.id).where(FailureCase.status == CaseStatus.published)
                                   .order_by(FailureCase.id)))
    processes = min(processes, len(ids) // MIN_PER_PROCESS)
    if processes < 2:
        return _rebuild(index, bind, progress)
    runs = [ids[len(ids) * k // processes:len(ids) * (k + 1) // processes] for k in range(processes)]
    runs = [(run[0], run[-1]) for run in runs]
    context = multiprocessing.get_context("fork")  # children inherit the app, the engine and jieba
    done = context.Value("q", 0)
    writer = index.writer(schema=build_schema())  # the lock, held until the new table of contents is written
    children = []
    try:
        for first, last in runs:
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_index_run, args=(index.directory, bind, first, last, done, send),
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


def _index_run(directory: Path, bind, first: int, last: int, done, send) -> None:
    """Child of a parallel rebuild: write the published cases with ids first..last as one new segment.

    Sends (segment, count) or an error message; never releases the parent's lock (it holds none itself).
    """
    parent = os.getppid()
    try:
        bind.dispose(close=False)  # the parent's pooled connections stay the parent's
        writer = IndexWriter(whoosh_index.open_dir(str(directory)), schema=build_schema(), _lk=False)
        count = 0
        with Session(bind) as session:
            query = published_query().where(FailureCase.id.between(first, last))
            for batch in session.scalars(query.execution_options(yield_per=BATCH)).partitions():
                for document in case_documents(session, batch):
                    writer.add_document(**document)
                count += len(batch)
                if len(batch) == BATCH:
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
