"""Rebuild time: `zhigu search rebuild` with one and several processes, on a synthetic archive.

Run (from the project root):

    .venv/bin/python bench/rebuild.py --cases 2000                      # quick check
    .venv/bin/python bench/rebuild.py --cases 100000 --keep             # the issue's figure (~25 min on 2 CPUs)
    .venv/bin/python bench/rebuild.py --reuse /tmp/zhigu-rebuild-100000-XXXX --processes 1,2

The archive is bench/speed.py's synthetic one (N English cases recombined from the NASA lessons, same
seed), imported into a SQLite file with `import_cases` in chunks of 10,000 with inline index writes off (the
import is not timed here; bench/speed.py times it). Then, for each --processes value, a rebuild into its
own index directory, timed (wall and the CPU of this process and its children), after a breakdown of a
one-process rebuild on the first --sample cases: reading rows and building documents (the database part,
`case_documents` with one comments query a batch) against adding them to a Whoosh writer (analysis, jieba and
stemming included) and committing. Finally every index is compared with the first: document count, the
stored fields of every document number, and the ranked ids of --queries searches and "find similar" calls.
Load average is printed at the start and the end: on a shared machine wall times move with other work.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from speed import Recombiner, write_cases  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_app(workdir: Path, index_dir: Path):
    from zhigu import create_app

    return create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{workdir / 'zhigu.sqlite'}",
                       "INDEX_DIR": str(index_dir), "INDEX_INLINE_DRAIN": False})


def import_archive(workdir: Path, n: int, seed: int) -> None:
    from zhigu.archive.services import seed_causes
    from zhigu.archive.transfer import import_cases
    from zhigu.extensions import db

    jsonl = workdir / "cases.jsonl"
    write_cases(jsonl, n, seed, Recombiner())
    app = make_app(workdir, workdir / "index-import")
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        seed_causes()
        imported = 0
        with open(jsonl, encoding="utf-8") as lines:
            while batch := list(islice(lines, 10_000)):
                counts = import_cases(batch)
                imported += counts["created"] + counts["updated"]
                db.session.remove()
                print(f"  imported {imported}/{n} in {time.perf_counter() - started:.0f} s", flush=True)
    shutil.rmtree(workdir / "index-import", ignore_errors=True)


def breakdown(workdir: Path, sample: int) -> dict:
    """Seconds per 1,000 cases: database rows + documents, then Whoosh analysis + writing + commit."""
    from sqlalchemy.orm import Session
    from whoosh import index as whoosh_index

    from zhigu.extensions import db
    from zhigu.search.documents import build_schema, case_documents
    from zhigu.search.rebuild import published_query
    from zhigu.search.writing import IndexWriter

    app = make_app(workdir, workdir / "index-sample")
    with app.app_context():
        started = time.perf_counter()
        with Session(db.engine) as session:
            documents = [document for batch in
                         session.scalars(published_query().limit(sample).execution_options(yield_per=500)).partitions()
                         for document in case_documents(session, batch)]
        documents_s = time.perf_counter() - started
        folder = workdir / "index-sample"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), build_schema())
        from zhigu.search.analysis import _segmenter
        _segmenter()  # jieba's dictionary loads once per process: not part of the per-case cost
        started = time.perf_counter()
        writer = IndexWriter(ix)
        for document in documents:
            writer.add_document(**document)
        added_s = time.perf_counter() - started
        writer.commit()
        commit_s = time.perf_counter() - started - added_s
    shutil.rmtree(folder, ignore_errors=True)
    per = 1000 / len(documents)
    return {"sample": len(documents), "documents": documents_s * per, "analysis": added_s * per,
            "commit": commit_s * per}


def rebuild(workdir: Path, processes: int) -> dict:
    from zhigu.search import outbox

    folder = workdir / f"index-p{processes}"
    shutil.rmtree(folder, ignore_errors=True)
    app = make_app(workdir, folder)
    with app.app_context():
        index = app.extensions["zhigu.search"]
        index.index  # create the empty index: not part of the rebuild
        cpu, child_cpu = time.process_time(), children_cpu()
        started = time.perf_counter()
        count = outbox.rebuild(index, processes=processes)
        wall = time.perf_counter() - started
        segments = len(index.index._read_toc().segments)
        position = outbox.applied_change(folder)
    return {"processes": processes, "count": count, "wall": wall, "segments": segments, "position": position,
            "cpu": time.process_time() - cpu + children_cpu() - child_cpu, "folder": folder}


def compare(workdir: Path, folders: list[Path], queries: int, seed: int) -> list[str]:
    """Differences between the first index and each other one (none expected).

    Rankings use the exact collector the app's "find similar" uses (no block-quality pruning, no matcher
    replacement): Whoosh's default collector replaces the matchers of an OR as its minimum score rises, which
    drops a term's contribution to some documents, so its top N can depend on how the index is split into
    segments (measured: one more_like list in 20 differed between a one- and a two-segment index of the same
    20,000 documents). Every index that has taken updates has several segments, so that is Whoosh's
    behaviour anyway, not the rebuild's.
    """
    from whoosh import collectors
    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser, OrGroup
    from whoosh.query import Or, Term

    def top(searcher, query, limit):
        collector = collectors.TopCollector(limit, usequality=False, replace=0)
        searcher.search_with_collector(query, collector)
        return collector.results()

    rng = random.Random(seed)
    recombiner = Recombiner()
    texts = [recombiner.search_words(rng) for _ in range(queries)] + \
        [" ".join(re.findall(r"\w+", recombiner.description(rng))) for _ in range(queries)]
    problems = []
    reference = None
    for folder in folders:
        ix = whoosh_index.open_dir(str(folder))
        with ix.searcher() as searcher:
            parser = MultifieldParser(["title", "summary", "body"], ix.schema, group=OrGroup)
            stored = list(searcher.all_stored_fields())
            ranked = [[(hit["id"], round(hit.score, 9)) for hit in top(searcher, parser.parse(text), 20)]
                      for text in texts]
            similar = []
            for docnum in range(0, searcher.doc_count(), max(1, searcher.doc_count() // queries)):
                terms = searcher.key_terms([docnum], "summary", numterms=5)  # what more_like does, exactly
                query = Or([Term("summary", word, boost=weight) for word, weight in terms])
                similar.append([(hit["id"], round(hit.score, 9)) for hit in top(searcher, query, 11)
                                if hit.docnum != docnum][:10])
        ix.close()
        current = {"docs": len(stored), "stored": stored, "ranked": ranked, "similar": similar}
        if reference is None:
            reference = current
            continue
        for key in current:
            if current[key] != reference[key]:
                problems.append(f"{folder.name}: {key} differs from {folders[0].name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--processes", default=f"1,{os.cpu_count() or 2}", help="comma-separated process counts")
    parser.add_argument("--sample", type=int, default=2000, help="cases in the time breakdown (0: none)")
    parser.add_argument("--queries", type=int, default=50, help="searches (and as many similar calls) compared")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tmp", default=None, help="parent directory of the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database and indexes)")
    parser.add_argument("--reuse", metavar="DIR", help="a kept dir: rebuild again, no import")
    args = parser.parse_args(argv)
    counts = [int(p) for p in args.processes.split(",")]
    workdir = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix=f"zhigu-rebuild-{args.cases}-",
                                                                         dir=args.tmp))
    print(f"{'reusing' if args.reuse else 'working in'} {workdir}; load average {os.getloadavg()[0]:.2f}", flush=True)
    try:
        if not args.reuse:
            import_archive(workdir, args.cases, args.seed)
        parts = breakdown(workdir, args.sample) if args.sample else None
        if parts:
            print(f"one process, per 1,000 cases (first {parts['sample']}): rows + documents {parts['documents']:.2f} s, "
                  f"analysis + writing {parts['analysis']:.2f} s, commit {parts['commit']:.2f} s", flush=True)
        results = []
        for processes in counts:
            result = rebuild(workdir, processes)
            results.append(result)
            print(f"processes={processes}: {result['count']} cases in {result['wall']:.1f} s "
                  f"(CPU {result['cpu']:.0f} s), load average {os.getloadavg()[0]:.2f}", flush=True)
        problems = compare(workdir, [r["folder"] for r in results], args.queries, args.seed + 7)
        load = os.getloadavg()
        print()
        print(f"{'processes':>9} {'cases':>8} {'wall s':>8} {'cases/s':>8} {'speed-up':>8} {'CPU s':>8} "
              f"{'segments':>8} {'position':>8}")
        for r in results:
            print(f"{r['processes']:>9} {r['count']:>8} {r['wall']:>8.1f} {r['count'] / r['wall']:>8.0f} "
                  f"{results[0]['wall'] / r['wall']:>8.2f} {r['cpu']:>8.1f} {r['segments']:>8} {r['position']!s:>8}")
        print(f"identical indexes (docs, stored fields, {args.queries} searches, similar): "
              f"{'yes' if not problems else 'NO: ' + '; '.join(problems)}")
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
        return 1 if problems else 0
    finally:
        if args.keep or args.reuse:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
