"""What the public ranking statistics (zhigu.search.statistics) cost a process after each index generation.

Every edit commits a generation in which the edited case's old document is deleted from its segment. A
process then counts, for each term a search or "find similar" asks about, the public documents holding it
over the new generation. This replays that on a copy of an index directory (for instance the one bench/load.py
set up, <workdir>/index): --generations times, delete one public document (an edit's old version) and add a
small one (its new version), open a new searcher and ask the public document frequency of the same --terms
(field, term) pairs, the words of random cases' titles and summaries in the text fields "find similar" reads;
print the CPU of each generation's statistics (p50, p95, mean) after a first, counted-ahead generation, and
check the last generation's counts against a count from scratch (public, live documents holding each term).

    PYTHONPATH=. .venv/bin/python bench/statistics_generations.py /tmp/zhigu-load/index --generations 40
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics as stats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whoosh import index as whoosh_index  # noqa: E402

from zhigu.search import statistics  # noqa: E402
from zhigu.search.similar import TEXT_FIELDS  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", help="an index directory (copied; the original is not touched)")
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--terms", type=int, default=3000, help="(field, term) pairs asked per generation")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warm", action="store_true",
                        help="first count the frequent terms ahead, as a server's warm-up does (statistics.warm)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "index"
        shutil.copytree(args.index, directory)
        ix = whoosh_index.open_dir(str(directory))
        with ix.searcher() as searcher:
            public = [docnum for docnum in searcher.document_numbers(allowed="public")]
            pairs = set()
            for docnum in rng.sample(public, min(len(public), 400)):
                for field in ("title", "summary"):
                    for term, _ in searcher.vector_as("weight", docnum, field):
                        pairs.update((name, term) for name in TEXT_FIELDS)
                if len(pairs) >= args.terms:
                    break
            pairs = sorted(pairs)[:args.terms]
            victims = [searcher.stored_fields(docnum)["id"] for docnum in rng.sample(public, args.generations)]
        print(f"{len(public)} public documents; {len(pairs)} (field, term) pairs asked per generation", flush=True)
        if args.warm:
            with ix.searcher() as searcher:
                print(f"warm-up: {statistics.warm(searcher, TEXT_FIELDS)} (term, segment) counts ahead", flush=True)
        cpu = []
        for n, victim in enumerate([None, *victims]):
            if victim is not None:
                writer = ix.writer()
                writer.delete_by_term("id", victim)
                writer.add_document(id=f"new-{n}", title="edited case", summary="a new version", allowed="public")
                writer.commit()
            searcher = ix.searcher()
            started = time.process_time()
            public_stats = statistics.public_statistics(searcher)
            for field, term in pairs:
                public_stats.doc_frequency(field, term)
            if n:
                cpu.append((time.process_time() - started) * 1000)
            if n == len(victims):
                wrong = count_wrong(searcher, public_stats, pairs)
                print(f"last generation against a count from scratch: {wrong} of {len(pairs)} counts differ")
            searcher.close()
        cpu.sort()
        print(f"statistics after each of {len(cpu)} generations, CPU ms: p50 {stats.median(cpu):.1f}, "
              f"p95 {cpu[int(0.95 * (len(cpu) - 1))]:.1f}, mean {stats.mean(cpu):.1f}")
    return 1 if wrong else 0


def count_wrong(searcher, public_stats, pairs) -> int:
    """How many of the pairs' public document frequencies differ from the public, live documents holding them."""
    public = set(searcher.document_numbers(allowed="public"))
    reader = searcher.reader()
    return sum(public_stats.doc_frequency(field, term) != (
        len(public.intersection(reader.postings(field, term).all_ids())) if (field, term) in reader else 0)
        for field, term in pairs)


if __name__ == "__main__":
    sys.exit(main())
