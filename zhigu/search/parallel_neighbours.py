"""Compute every missing nearest-case list in several forked processes (`zhigu search neighbours --processes`).

Each list costs 30-80 ms of CPU ("find similar" of the case's own text) and no list depends on another, so
N processes share them: the missing (case, audience) pairs are dealt out in turn, and each child computes and
stores its own share as `neighbours.compute_lists` does, on its own database connection and with its own
index files (a forked child must not read through its parent's file handles, whose positions they share).
A list is committed as soon as it is computed, so a failure anywhere loses nothing stored: the lists still
missing are computed by the next run, `zhigu worker` or the first page that needs them.
"""
import multiprocessing
import os
import traceback
from multiprocessing.connection import wait

from zhigu.extensions import db
from zhigu.search import neighbours
from zhigu.search.index import current_index

#: Fewest missing lists per process: below it a fork (and each child's loading of jieba and the index) costs
#: more than it saves.
MIN_PER_PROCESS = 200


def compute(pairs: list[tuple[int, str]], processes: int, progress=None) -> int:
    """Compute and store the (case id, audience) lists `pairs` (`neighbours.missing()`) using up to `processes`
    processes; `progress(n)` as lists are done; return how many were stored. Raises RuntimeError if a process
    failed (once the others have finished their share)."""
    processes = min(processes, len(pairs) // MIN_PER_PROCESS)
    if processes < 2:
        return neighbours.compute_lists(pairs, after_each=(lambda: progress(1)) if progress else None)
    db.session.close()  # no connection of the parent's pool is in use when the children inherit it
    context = multiprocessing.get_context("fork")  # children inherit the app context, jieba and the taxonomy
    done = context.Value("q", 0)
    children = []
    for k in range(processes):
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_compute_share, args=(pairs[k::processes], done, send), daemon=True)
        child.start()
        send.close()
        children.append((child, receive))
    try:
        stored, failures = _collect(children, done, progress)
    except BaseException:
        for child, _ in children:
            if child.is_alive():
                child.kill()
        raise
    finally:
        for child, receive in children:
            child.join()
            receive.close()
    if failures:
        raise RuntimeError("\n".join(failures))
    return stored


def _compute_share(pairs: list[tuple[int, str]], done, send) -> None:
    """Child: compute and store `pairs`, counting each in `done`; send ("ok", stored) or ("error", traceback)."""
    parent = os.getppid()

    def counted() -> None:
        with done.get_lock():
            done.value += 1
        if os.getppid() != parent:
            os._exit(1)  # the parent was stopped: stop too

    try:
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        current_index().forget_open_index()
        send.send(("ok", neighbours.compute_lists(pairs, after_each=counted)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


def _collect(children, done, progress) -> tuple[int, list[str]]:
    """Wait for every child's result, reporting progress; return the lists stored and each failure's report."""
    stored, failures, reported = 0, [], 0
    pending = {receive: k for k, (_, receive) in enumerate(children)}
    while pending:
        for receive in wait(list(pending), timeout=0.2):
            k = pending.pop(receive)
            try:
                status, value = receive.recv()
            except EOFError:
                children[k][0].join()
                failures.append(f"Nearest-case process {k + 1} died (exit code {children[k][0].exitcode})")
                continue
            if status == "ok":
                stored += value
            else:
                failures.append(f"Nearest-case process {k + 1} failed:\n{value}")
        if progress and done.value > reported:
            progress(done.value - reported)
            reported = done.value
    return stored, failures
