"""What the multilingual extra costs at N cases: "find similar" CPU with and without the vectors, the query
embedding apart, the reload of the vector matrix after a change, and the storage of the vectors.

The archive is speed.py's synthetic one (NASA lessons recombined). The ranking's cost does not depend on
the vectors' values, so the cases get random unit vectors (stored exactly as `zhigu search embed` stores
them) and the description's vector is random too; the real model's query embedding is timed apart on the
same descriptions (QUERY_MAX_CHARS of each). Embedding N real cases would take N x 0.15-0.4 s of CPU.

    .venv/bin/python bench/dense_speed.py --cases 10000
"""
import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import quality  # noqa: E402
import speed  # noqa: E402


def timed_requests(client, descriptions: list[str]) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for description in descriptions:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/similar", json={"description": description, "limit": 10})
        assert response.status_code == 200, response.get_data(True)[:300]
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def line(name: str, wall: list[float], cpu: list[float]) -> str:
    p = speed.percentile
    return (f"{name:<34} wall p50 {p(wall, 50):7.1f}  p95 {p(wall, 95):7.1f} | "
            f"cpu p50 {p(cpu, 50):7.1f}  p95 {p(cpu, 95):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--profile", action="store_true",
                        help="then profile the hybrid requests with pyinstrument (the bench extra) and print the tree")
    args = parser.parse_args()
    from zhigu.extensions import db
    from zhigu.search import dense
    from zhigu.search.models import CaseEmbedding

    print(f"zhigu code: {quality.code_version()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    directory = Path(tempfile.mkdtemp(prefix="zhigu-dense-speed-"))
    recombiner = speed.Recombiner()
    speed.write_cases(directory / "cases.jsonl", args.cases, 1, recombiner)
    started = time.perf_counter()
    app = quality.build_app(directory / "cases.jsonl", str(directory), DENSE_RANKING=False)
    print(f"imported {args.cases} cases in {time.perf_counter() - started:.0f} s")
    rng = random.Random(2)
    # Each pass its own descriptions (a text's analysis is kept per process, so a repeated one is cheaper);
    # the first warms the searcher and the statistics of common terms, as a server's warm-up and traffic do.
    warming, descriptions, others = ([recombiner.description(rng) for _ in range(args.queries)] for _ in range(3))
    client = app.test_client()
    timed_requests(client, warming)
    before = timed_requests(client, descriptions)

    database = directory / "bench.sqlite"
    size_before = database.stat().st_size
    vectors = np.random.default_rng(3)
    with app.app_context():
        rows = [dense.digest(text) for text in dense._published_texts().values()]
        for start in range(0, len(rows), 2000):
            for key in rows[start:start + 2000]:
                vector = vectors.standard_normal(384).astype("<f4")
                db.session.add(CaseEmbedding(model=dense.MODEL_NAME, digest=key,
                                             vector=(vector / np.linalg.norm(vector)).tobytes()))
            db.session.commit()
        db.session.execute(db.text("VACUUM"))
    stored = database.stat().st_size - size_before
    print(f"vectors of {len(rows)} cases: {stored / 2**20:.1f} MB in the database "
          f"({stored / len(rows):.0f} bytes a case; {stored / len(rows) * 10_000 / 2**20:.1f} MB per 10,000)")

    stand_in = vectors.standard_normal(384).astype("<f4")

    class StandIn:  # the description's vector: its embedding is timed apart below
        def query(self, text):
            return stand_in / np.linalg.norm(stand_in)

    real_encoder = dense.encoder
    dense.encoder = lambda: StandIn()
    app.config["DENSE_RANKING"] = True
    with app.app_context():
        started, started_cpu = time.perf_counter(), time.process_time()
        dense.case_vectors()
        print(f"matrix load (first request, and after every change): {(time.perf_counter() - started) * 1000:.0f} ms "
              f"wall, {(time.process_time() - started_cpu) * 1000:.0f} ms CPU")
    timed_requests(client, warming)  # the matrix, and any first-use cost of the vector side
    after = timed_requests(client, others)
    print(line("similar, words only", *before))
    print(line("similar, hybrid (query vector given)", *after))
    if args.profile:
        from pyinstrument import Profiler

        with Profiler(interval=0.0005) as profiler:
            timed_requests(client, others)
        print(profiler.output_text(color=False, show_all=False))
    dense.encoder = real_encoder
    if dense.available():
        model, cpu, tokens = dense.encoder(), [], []
        model.query("warm up")
        for description in descriptions:
            started_cpu = time.process_time()
            model.query(description[:dense.QUERY_MAX_CHARS])
            cpu.append((time.process_time() - started_cpu) * 1000)
            tokens.append(model.token_count(description[:dense.QUERY_MAX_CHARS], True))
        print(f"query embedding ({np.median(tokens):.0f} tokens median): cpu p50 {speed.percentile(cpu, 50):.1f} "
              f"p95 {speed.percentile(cpu, 95):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
