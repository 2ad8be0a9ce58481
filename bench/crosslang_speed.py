"""What the cross-language stage of "find similar" (zhigu.search.crosslingual) costs, on a kept archive.

Runs POST /api/v1/similar (as a visitor, limit 10) with the stage on and off in the same process, on a
directory kept by `bench/speed.py --keep` (synthetic English cases): English descriptions (the archive's
own, as speed.py asks them) and Chinese ones (bench/zh_eval's cases, title and summary), whose translated
English terms meet the large postings of an English archive: the dear direction. Prints CPU and wall
p50/p95 per language and setting, and the dictionary's load time and resident memory.

    PYTHONPATH=. .venv/bin/python bench/crosslang_speed.py /tmp/zhigu-speed-10000-xxxx --queries 200
"""
import argparse
import gc
import json
import random
import statistics
import time
from pathlib import Path

ZH_CASES = Path(__file__).resolve().parent / "zh_eval" / "cases.jsonl"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a directory kept by bench/speed.py --keep")
    parser.add_argument("--queries", type=int, default=200, help="descriptions per language")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from zhigu import create_app
    from zhigu.search import dictionary, similar
    from zhigu.search.analysis import analyse

    list(analyse("光伏电站的市场需求"))  # jieba loaded before the dictionary is measured
    gc.collect()
    before, started = rss_mb(), time.process_time()
    dictionary.dictionary()
    gc.collect()
    print(f"dictionary: {time.process_time() - started:.2f} s CPU to load, {rss_mb() - before:.1f} MB resident")

    rng = random.Random(args.seed)
    english = [json.loads(line)["summary"] for line in open(args.directory / "cases.jsonl", encoding="utf-8")]
    chinese = [f"{case['title']}\n{case['summary']}" for case in map(json.loads, open(ZH_CASES, encoding="utf-8"))]
    sets = {"en": rng.sample(english, min(args.queries, len(english))),
            "zh": [rng.choice(chinese) for _ in range(args.queries)]}
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "SEARCH_WARM_UP": False,
                      "DATABASE_URL": f"sqlite:///{args.directory / 'zhigu.sqlite'}",
                      "INDEX_DIR": str(args.directory / "index")})
    client = app.test_client()
    stage = similar._cross_language_query

    def run(texts: list[str], on: bool) -> tuple[list[float], list[float]]:
        similar._cross_language_query = stage if on else (lambda searcher, text, terms: ({}, None))
        cpu, wall = [], []
        for text in texts:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.post("/api/v1/similar", json={"description": text, "limit": 10})
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        return cpu, wall

    run(sets["en"][:10] + sets["zh"][:10], True)  # warm up: searcher, statistics, caches
    figures = {}
    for language, texts in sets.items():
        for on in (False, True, False, True):  # alternated: a busy machine weighs on both settings alike
            cpu, wall = run(texts, on)
            got = figures.setdefault((language, on), ([], []))
            got[0].extend(cpu)
            got[1].extend(wall)
    print(f"{'descriptions':<14}{'stage':<6}{'n':>5} | {'CPU p50':>8} {'p95':>7} {'mean':>7} | {'wall p50':>8} {'p95':>7}  ms")
    for (language, on), (cpu, wall) in figures.items():
        print(f"{language:<14}{'on' if on else 'off':<6}{len(cpu):>5} | {percentile(cpu, 0.5):>8.1f} "
              f"{percentile(cpu, 0.95):>7.1f} {statistics.fmean(cpu):>7.1f} | {percentile(wall, 0.5):>8.1f} "
              f"{percentile(wall, 0.95):>7.1f}")


if __name__ == "__main__":
    main()
