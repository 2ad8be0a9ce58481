"""The first request a new process answers (issue 13: < 1 s at 10,000 cases, < 2 s at 100,000): a Chinese search and
a "find similar", each in a fresh process over an archive `speed.py --keep` built.

    .venv/bin/python bench/first_request.py DIR [--runs 3]
    .venv/bin/python bench/first_request.py /tmp/zhigu-load100k/index \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/zhigu_load100k   # load.py's archive

Each run starts a new Python process that does what a gunicorn worker does (gunicorn.conf.py): create the app,
warm the search up (`warmup.warm_now` in post_worker_init, before the worker accepts requests), then answer
its first request. Printed (wall ms): the app's creation, the warm-up, the first request (median and worst of
the runs) and the second one of the same kind for comparison.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
started = time.perf_counter()
from zhigu import create_app
from zhigu.search import warmup
database_url, index_dir, kind = sys.argv[1], sys.argv[2], sys.argv[3]
app = create_app({"SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                  "DATABASE_URL": database_url, "INDEX_DIR": index_dir})
created = time.perf_counter()
warmup.warm_now(app)  # what gunicorn's post_worker_init does before the worker accepts requests
ready = time.perf_counter()
client = app.test_client()
requests = {
    "search_zh": lambda: client.get("/search?q=" + "冷链物流 仓储"),
    "similar": lambda: client.post("/api/v1/similar", json={"description":
        "A cold-chain logistics start-up built refrigerated warehouses near the border crossing to serve fruit "
        "exporters, but the customs clearance took days, the exporters kept their own trucks, and the "
        "warehouses stood half empty until the money ran out. 冷链仓库 利用率低 资金链断裂", "limit": 10}),
}
times = []
for _ in range(2):
    begun = time.perf_counter()
    status = requests[kind]().status_code
    times.append((time.perf_counter() - begun) * 1000)
print(json.dumps({"start_ms": (created - started) * 1000, "warm_ms": (ready - created) * 1000, "first_ms": times[0], "second_ms": times[1],
                  "status": status}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path,
                        help="a directory speed.py --keep left (zhigu.sqlite, index/); with --database-url, the index")
    parser.add_argument("--database-url", help="the archive's database (load.py's: PostgreSQL); DIRECTORY is its index")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.database_url:
        database_url, index_dir = args.database_url, args.directory
    else:
        database_url, index_dir = f"sqlite:///{args.directory}/zhigu.sqlite", args.directory / "index"
    print(f"first request of a new process over {database_url} and {index_dir}, {args.runs} runs each (wall ms)")
    print(f"{'request':<10} {'app start':>10} {'warm-up':>8} {'first p50':>10} {'first max':>10} {'second p50':>11}"
          "  statuses")
    for kind in ("search_zh", "similar"):
        runs = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-c", CHILD, database_url, str(index_dir), kind],
                                 capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        first = [run["first_ms"] for run in runs]
        print(f"{kind:<10} {statistics.median(run['start_ms'] for run in runs):>10.0f} "
              f"{statistics.median(run['warm_ms'] for run in runs):>8.0f} "
              f"{statistics.median(first):>10.0f} {max(first):>10.0f} "
              f"{statistics.median(run['second_ms'] for run in runs):>11.0f}  {sorted({run['status'] for run in runs})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
