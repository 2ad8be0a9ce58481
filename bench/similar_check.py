"""Two checkouts' "find similar" side by side on a kept archive: the same results, and CPU and wall p50/p95.

Each round runs one fresh process per checkout (its `zhigu` first on the import path, as PYTHONPATH=CHECKOUT
would), alternating, so a busy machine weighs on both alike. A process warms up as a served one does
(zhigu.search.warmup, timed apart), sends three requests, then POST /api/v1/similar (as a visitor, limit 10)
for --queries descriptions (speed.py's recombined ones, the same in every process), and reports each
request's CPU and wall time and its results: ids, scores and `why`. Every process's results must equal the
first's, byte for byte (as JSON); a difference is printed and the exit status is 1.

    .venv/bin/python bench/similar_check.py DIR --against /work/main                # this checkout vs main
    .venv/bin/python bench/similar_check.py DIR --against /work/main --rounds 3 --queries 300
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def child(directory: Path, queries: int, out: Path) -> None:
    """One process: warm up, then time and record every request."""
    sys.path.insert(0, str(ROOT / "bench"))
    from speed import Recombiner

    import zhigu
    from zhigu import create_app
    from zhigu.search import warmup

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "SEARCH_WARM_UP": False,
                      "DATABASE_URL": f"sqlite:///{directory / 'zhigu.sqlite'}",
                      "INDEX_DIR": str(directory / "index")})
    started = time.process_time()
    warmup.warm_up(app)
    warm_cpu = time.process_time() - started
    recombiner, rng = Recombiner(), random.Random(7)
    texts = [recombiner.description(rng) for _ in range(queries + 3)]
    client = app.test_client()
    for text in texts[:3]:
        client.post("/api/v1/similar", json={"description": text, "limit": 10})
    cpu, wall, results = [], [], []
    for text in texts[3:]:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/similar", json={"description": text, "limit": 10})
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        results.append(response.get_json()["results"])  # ids, scores, why and the cases shown
    out.write_text(json.dumps({"code": str(Path(zhigu.__file__).parent.parent), "warm_cpu": warm_cpu, "cpu": cpu,
                               "wall": wall, "results": results, "load": os.getloadavg()[0]}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a directory bench/speed.py --keep left")
    parser.add_argument("--against", type=Path, help="the other checkout (e.g. /work/main)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="processes per checkout, alternated")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.directory, args.queries, args.child)
        return 0
    if args.against is None:
        parser.error("--against CHECKOUT is needed")
    checkouts = {"other": args.against.resolve(), "this": ROOT}
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for name, checkout in checkouts.items():
                out = Path(tmp) / f"{name}-{round_}.json"
                env = dict(os.environ, PYTHONPATH=str(checkout))
                subprocess.run([sys.executable, __file__, str(args.directory), "--queries", str(args.queries),
                                "--child", str(out)], env=env, check=True)
                runs[name].append(json.loads(out.read_text()))
                print(f"round {round_ + 1}, {name} ({runs[name][-1]['code']}): load average "
                      f"{runs[name][-1]['load']:.1f}", flush=True)
    reference = runs["other"][0]["results"]
    differ = 0
    for name, done in runs.items():
        for number, run in enumerate(done, start=1):
            for query, (got, wanted) in enumerate(zip(run["results"], reference)):
                if json.dumps(got) != json.dumps(wanted):
                    differ += 1
                    if differ <= 5:
                        print(f"DIFFERENT: {name} run {number}, query {query}:\n  {got}\n  {wanted}")
    print(f"\n{args.queries} descriptions, {args.rounds} processes per checkout; results "
          f"{'identical (ids, scores, why)' if not differ else f'DIFFERENT in {differ} answers'}")
    print(f"{'checkout':<40} {'CPU p50':>8} {'p95':>7} | {'wall p50':>8} {'p95':>7}  ms | warm-up CPU s")
    for name, done in runs.items():
        for run in done:
            print(f"{run['code']:<40} {percentile(run['cpu'], .5):8.1f} {percentile(run['cpu'], .95):7.1f} | "
                  f"{percentile(run['wall'], .5):8.1f} {percentile(run['wall'], .95):7.1f}     | "
                  f"{run['warm_cpu']:.1f}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
