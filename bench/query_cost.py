"""Query cost: the CPU time of the most expensive searches a visitor can send, at N cases.

Run (from the project root):

    .venv/bin/python bench/query_cost.py                         # 10,000 cases (build ~5-10 min)
    .venv/bin/python bench/query_cost.py --cases 100000 --keep   # the goal's size; keep the data to re-measure
    .venv/bin/python bench/query_cost.py --reuse /tmp/zhigu-cost-100000-XXXX   # the queries again, no import

The archive is bench/speed.py's synthetic one (N English cases recombined from ../shared/corpora/nasa_llis.jsonl,
deterministic seed), imported through `zhigu.archive.transfer.import_cases`; every tenth case is private, so
the visitor's access filter has something to exclude. Rate limits are off: this measures one request's cost.

Each query is sent as a visitor through the test client to GET /api/v1/cases?q=..., GET /search?q=... or
POST /api/v1/similar, twice (the first run also fills the per-process caches: the ranking statistics of the
words it holds; the figure is the larger of the two), after the warm-up a server process runs when it starts
(zhigu.search.warmup, timed apart), and its CPU time (time.process_time, the whole request: parsing, search, facets,
row loading, snippets, rendering) is printed with the status code. The queries are the worst we could
construct: many fuzzy terms (the issue's 28), wildcards with and without a literal prefix (*x*), one-letter
prefixes, long OR and AND chains up to the length limit, phrases, field queries, term and date ranges,
`*` and field:*, NOT chains, a long Chinese text (bigrams), many misspelled words (spelling suggestions),
deep pages, and the largest "find similar" descriptions the schema accepts.

The goal: the worst under 1 s of CPU at 100,000 cases. A 400 (query refused), 503 (time budget spent) or 429
is a bounded answer too; a 500 is a failure and is counted apart.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (bench/speed.py: the synthetic archive and the code version)

HAN = "光伏电站跨境电商物流仓储供应链融资平台用户增长补贴政策监管审批市场需求团队技能资金链断裂产品质量安全事故"


def write_cases(path: Path, n: int, seed: int, recombiner) -> None:
    """bench/speed.py's cases, every tenth one private."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            case = recombiner.case(rng, f"syn-{i:06d}")
            if i % 10 == 9:
                case["visibility"] = "private"
            out.write(json.dumps(case, ensure_ascii=False) + "\n")


def build(workdir: Path, n: int, seed: int, chunk: int, import_data: bool):
    from zhigu import create_app
    from zhigu.archive.services import seed_causes
    from zhigu.archive.transfer import import_cases
    from zhigu.extensions import db
    from zhigu.search import outbox

    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "bench",
                      "SEARCH_WARM_UP": False, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "DATABASE_URL": f"sqlite:///{workdir / 'zhigu.sqlite'}", "INDEX_DIR": str(workdir / "index")})
    app.logger.disabled = True
    recombiner = speed.Recombiner()
    jsonl = workdir / "cases.jsonl"
    if import_data:
        write_cases(jsonl, n, seed, recombiner)
        started = time.perf_counter()
        with app.app_context():
            db.create_all()
            seed_causes()
            imported = 0
            with open(jsonl, encoding="utf-8") as lines:
                while batch := list(islice(lines, chunk)):
                    counts = import_cases(batch)
                    imported += counts["created"] + counts["updated"]
                    db.session.remove()
                    print(f"  imported {imported}/{n} in {time.perf_counter() - started:.0f} s", flush=True)
            index = app.extensions["zhigu.search"]
            if index.document_count() < imported:
                outbox.drain(index)
        print(f"built {n} cases in {time.perf_counter() - started:.0f} s", flush=True)
    return app, recombiner


def worst_queries(recombiner, seed: int) -> list[tuple[str, str, dict]]:
    """(name, kind, parameters): kind is "api" (GET /api/v1/cases), "page" (GET /search) or "similar"."""
    rng = random.Random(seed)
    words = [w for w in recombiner.query_words if w.isascii()]
    common = words[:: max(1, len(words) // 200)][:200]
    pick = lambda k: rng.sample(common, k)  # noqa: E731

    def upto(parts: list[str], joiner: str, limit: int = 1000) -> str:
        text = ""
        for part in parts:
            candidate = f"{text}{joiner}{part}" if text else part
            if len(candidate) > limit:
                break
            text = candidate
        return text

    fuzzy28 = " OR ".join(f"{w}~3" for w in pick(28))
    letters = "abcdefghijklmnopqrstuvwxyz"
    misspelt = upto(["".join(rng.sample(letters, len(w))) for w in common * 3], " ")
    queries = [
        ("28 fuzzy terms ~3 OR (the issue's)", "api", {"q": fuzzy28}),
        ("28 fuzzy terms ~3 OR, search page", "page", {"q": fuzzy28}),
        ("fuzzy ~2/0 AND, to the length limit", "api", {"q": upto([f"{w}~2/0" for w in common], " ")}),
        ("26 *x* wildcards OR", "api", {"q": " OR ".join(f"*{c}*" for c in letters)}),
        ("*x* wildcards AND", "api", {"q": " ".join(f"*{c}*" for c in letters)}),
        ("one-letter prefixes OR", "api", {"q": " OR ".join(f"{c}*" for c in letters)}),
        ("two-letter prefixes OR", "api", {"q": upto([f"{a}{b}*" for a in "stcpmr" for b in "aeiou"], " OR ")}),
        ("wildcards with a prefix OR", "api", {"q": upto([f"{w[:2]}*{w[-1]}?" for w in common], " OR ")}),
        ("? wildcards", "api", {"q": upto([f"{w[:2]}{'?' * (len(w) - 2)}" for w in common], " OR ")}),
        ("long OR chain of common words", "api", {"q": upto(common, " OR ")}),
        ("long OR chain, search page", "page", {"q": upto(common, " OR ")}),
        ("long AND of words", "api", {"q": upto(common, " ")}),
        ("phrases", "api", {"q": upto([f'"{a} {b}"' for a, b in zip(common, common[1:])], " OR ")}),
        ("field queries", "api", {"q": upto([f"{f}:{w}" for w in common for f in ("title", "summary", "body")],
                                            " OR ")}),
        ("term ranges on text fields", "api", {"q": "body:[a TO zzzz] OR title:[a TO zzzz] OR summary:[a TO z]"}),
        ("date and year ranges", "api", {"q": "published:[19000101 TO 20991231] OR year:[1900 TO 2099]"}),
        ("everything: *", "api", {"q": "*"}),
        ("field:* on every field", "api", {"q": " OR ".join(f"{f}:*" for f in
                                                             ("title", "summary", "body", "comments", "cause"))}),
        ("NOT chain", "api", {"q": upto(["solar"] + [f"NOT {w}" for w in common], " ")}),
        ("nested brackets", "api", {"q": upto(["("] * 200 + ["solar"] + [")"] * 200, "")}),
        ("long Chinese text (bigrams)", "api", {"q": (HAN * 40)[:1000]}),
        ("Chinese OR chain", "api", {"q": upto([HAN[i:i + 2] for i in range(0, len(HAN) - 1)], " OR ")}),
        ("misspelled words (did you mean)", "api", {"q": misspelt}),
        ("misspelled words, search page", "page", {"q": misspelt}),
        ("browse: no words, newest", "api", {"q": "", "sort": "newest"}),
        ("deep page, 100 per page", "api", {"q": "", "page": "999", "per_page": "100"}),
        ("common word, 100 per page", "api", {"q": common[0], "per_page": "100"}),
        ("everything OR, every facet filter", "api", {"q": upto(common, " OR "),
                                                      "sector": ["energy", "construction"], "cause": ["market.no_demand"]}),
    ]
    long_en = " ".join(rng.choice(common) for _ in range(4000))[:20_000]
    distinct = " ".join("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(3000))[:20_000]
    queries += [
        ("similar: 20,000 characters of common words", "similar", {"description": long_en, "limit": 50}),
        ("similar: 20,000 characters of distinct words", "similar", {"description": distinct, "limit": 50}),
        ("similar: 20,000 Chinese characters", "similar", {"description": (HAN * 400)[:20_000], "limit": 50}),
    ]
    return queries


def measure(app, queries) -> list[dict]:
    from zhigu.search.warmup import warm_up

    started = time.process_time()
    counted = warm_up(app)  # what a server process does in the background when it starts (zhigu.search.warmup)
    print(f"  warm-up (jieba, index, public statistics of {counted} common terms): "
          f"{time.process_time() - started:.1f} s CPU", flush=True)
    client = app.test_client()
    rows = []
    for name, kind, params in queries:
        cpu, status = 0.0, None
        for _ in range(2):
            started = time.process_time()
            if kind == "similar":
                response = client.post("/api/v1/similar", json=params)
            else:
                path = "/api/v1/cases" if kind == "api" else "/search"
                response = client.get(f"{path}?{urlencode(params, doseq=True)}")
            cpu = max(cpu, time.process_time() - started)
            status = response.status_code
        detail = ""
        if response.is_json:
            body = response.get_json()
            detail = body.get("error", "") or (f"{body.get('total')} found" if "total" in body else
                                              f"{len(body.get('results', []))} results")
        rows.append({"name": name, "kind": kind, "cpu_s": cpu, "status": status, "detail": detail,
                     "chars": len(params.get("q", params.get("description", "")))})
        print(f"  {cpu * 1000:8.0f} ms  {status}  {name} ({rows[-1]['chars']} chars)  {detail[:70]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="archive size (default 10000)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--chunk", type=int, default=10_000, help="lines per import_cases call")
    parser.add_argument("--tmp", default=None, help="parent directory of the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (JSONL, DB, index)")
    parser.add_argument("--reuse", metavar="DIR", help="measure again on a kept dir, with the current code")
    parser.add_argument("--build-only", action="store_true", help="build and keep the data; measure nothing")
    args = parser.parse_args(argv)
    args.keep = args.keep or args.build_only
    workdir = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix=f"zhigu-cost-{args.cases}-",
                                                                       dir=args.tmp))
    n = sum(1 for _ in open(workdir / "cases.jsonl", encoding="utf-8")) if args.reuse else args.cases
    print(f"zhigu code: {speed.code_version()}; {n} cases in {workdir}", flush=True)
    try:
        app, recombiner = build(workdir, n, args.seed, args.chunk, import_data=not args.reuse)
        if args.build_only:
            return 0
        rows = measure(app, worst_queries(recombiner, args.seed))
        worst = max(rows, key=lambda row: row["cpu_s"])
        failures = [row for row in rows if row["status"] >= 500 and row["status"] != 503]
        print(f"\nmax CPU {worst['cpu_s'] * 1000:.0f} ms ({worst['name']}) over {len(rows)} queries at {n} cases; "
              f"goal < 1000 ms at 100,000; server errors: {len(failures)}")
        return 1 if failures else 0
    finally:
        if args.keep or args.reuse:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
