"""Import-and-index throughput alone: CPU and wall time of `import_cases` and of the index writes after it.

bench/speed.py measures the same import (its first figure) before its queries; this runs only the import, so
each change to indexing can be measured in a minute, with the CPU time of this process (steadier than wall
time on a shared machine) split into the database part and the index part, and profiled:

    .venv/bin/python bench/import_speed.py --cases 10000                # speed.py's path: the first drain
                                                                        # of a new index rebuilds it
    .venv/bin/python bench/import_speed.py --cases 10000 --positioned   # an index that follows the outbox:
                                                                        # drains through update_cases
    .venv/bin/python bench/import_speed.py --cases 3000 --profile out   # cProfile of both parts: out.pstats

The data are speed.py's synthetic cases (same seed), imported in chunks of --chunk lines as speed.py does,
with the inline drain off; the outbox is then drained (timed apart), as the after-commit hook would. A drain
also computes up to NEIGHBOURS_AT_DRAIN stored nearest-case lists (about 1.5 s of CPU at any size), which
weighs on a small --positioned run; the rebuild of a new index drops them instead.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # this checkout's zhigu, not the one the virtualenv installed

from speed import Recombiner, code_version, write_cases  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=10_000, help="lines per import_cases call")
    parser.add_argument("--positioned", action="store_true",
                        help="give the empty index its outbox position first, so the drain updates it case by case")
    parser.add_argument("--profile", metavar="PATH", help="write a cProfile of the import and the drain to PATH.pstats")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tmp", default=None, help="parent directory of the temp dir")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix=f"zhigu-import-{args.cases}-", dir=args.tmp))
    try:
        jsonl = workdir / "cases.jsonl"
        write_cases(jsonl, args.cases, args.seed, Recombiner())
        from zhigu import create_app
        from zhigu.archive.services import seed_causes
        from zhigu.archive.transfer import import_cases
        from zhigu.extensions import db
        from zhigu.search import outbox
        from zhigu.search.analysis import _segmenter

        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{workdir / 'z.sqlite'}",
                          "INDEX_DIR": str(workdir / "index"), "INDEX_INLINE_DRAIN": False})
        print(f"{args.cases} cases, code {code_version()}, load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs", flush=True)
        profile = cProfile.Profile() if args.profile else None
        with app.app_context():
            db.create_all()
            seed_causes()
            _segmenter()  # jieba's dictionary: once per process, not a per-case cost
            index = app.extensions["zhigu.search"]
            if args.positioned:
                outbox.rebuild(index)
            if profile:
                profile.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            with open(jsonl, encoding="utf-8") as lines:
                while batch := list(islice(lines, args.chunk)):
                    import_cases(batch)
                    db.session.remove()
            import_cpu, import_wall = time.process_time() - cpu, time.perf_counter() - wall
            cpu, wall = time.process_time(), time.perf_counter()
            outbox.drain(index)
            index_cpu, index_wall = time.process_time() - cpu, time.perf_counter() - wall
            if profile:
                profile.disable()
                profile.dump_stats(f"{args.profile}.pstats")
            indexed = index.document_count()
        per_case = 1000 / args.cases
        print(f"{'':12} {'CPU s':>8} {'wall s':>8} {'CPU ms/case':>12}")
        for label, cpu_s, wall_s in (("import", import_cpu, import_wall), ("index", index_cpu, index_wall),
                                     ("total", import_cpu + index_cpu, import_wall + index_wall)):
            print(f"{label:12} {cpu_s:8.1f} {wall_s:8.1f} {cpu_s * per_case:12.2f}")
        print(f"import + index: {args.cases / (import_cpu + index_cpu):.0f} cases/s of CPU, "
              f"{args.cases / (import_wall + index_wall):.0f} cases/s of wall time; {indexed} documents; "
              f"load average at the end {os.getloadavg()[0]:.1f}")
        return 0 if indexed == args.cases else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
