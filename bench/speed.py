"""Speed at scale: import-and-index throughput, similar-query and search latency, index size and memory,
with SQLite FTS5 over the same texts as the yardstick.

Run (from the project root):

    .venv/bin/python bench/speed.py --sizes 2000            # quick check, about a minute
    .venv/bin/python bench/speed.py --sizes 10000,100000    # the issue's figures (~5-10 min and ~1 h on 2 CPUs)
    .venv/bin/python bench/speed.py --sizes 10000 --keep    # keep the temp dir (JSONL, DB, index) to inspect
    .venv/bin/python bench/speed.py --reuse /tmp/zhigu-speed-10000-XXXX   # queries again, current code, no import

Each size runs in its own child process (so peak memory is that size's own), which prints its figures; the
parent prints one table at the end. Options: --queries (similar queries, default 200), --search-queries
(default 200; as many case pages), --trends-queries (default 30), --neighbours all|sample, --chunk (lines per
import_cases call, default 10000), --seed.

What it measures, per size N
----------------------------
Data: N synthetic English cases recombined from ../shared/corpora/nasa_llis.jsonl (deterministic seed):
the title is the first half of one case's title and the second half of another's; the summary and the
narrative are sentences drawn from three to five cases (summary <= 1,000 chars, narrative 800-3,500 chars);
sector, target markets (0-3), causes (1-2, the first primary), stage and tags are random picks from
zhigu/archive/vocabulary.py and the corpus' tags. external_ids are unique. Written to a JSONL and streamed.

- import: `zhigu.archive.transfer.import_cases` on chunks of --chunk lines (validate, upsert, one commit per
  chunk, then the after-commit hook indexes the chunk). Cases/s over the whole run, and the share of it
  spent writing the index (SearchIndex.update_cases and the outbox's rebuilds, timed by wrapping them in
  this process; nothing in zhigu/ is changed). Should the hook leave changes queued, they are drained and timed
  as part of the import.
- similar: POST /api/v1/similar {"description": ..., "limit": 10} through the test client, as a visitor,
  with --queries held-out descriptions of 100-200 words (recombined like the cases but not imported);
  p50/p95 ms after 10 warm-up requests.
- search page: GET /search?q=<2-3 words> (HTML, AND of the words, facets, snippets) and the same through
  GET /api/v1/cases?q=... (JSON); words drawn from the corpus' frequent title words; p50/p95 ms; the status
  codes are counted, so a broken page shows up.
- stored neighbours (zhigu.search.neighbours, when the code has them): after the import, the lists of every
  case not stored yet are computed and timed (`--neighbours sample`: only those of the cases the pages below
  read, for a quicker run: reading a list costs the same however many are stored).
- case page: GET /cases/<id> as a visitor, --search-queries random cases (the similar list, links, comments);
  p50/p95 ms after 5 warm-up requests.
- trends page: GET /trends as a visitor, --trends-queries windows ending today and starting 1 to 9 years
  back, a different one each (a page must not be served from what an earlier one computed); p50/p95 ms
  after 2 warm-up requests.
- index size on disk (MB), database size (MB), peak RSS (ru_maxrss) after the Zhigu part.
- yardstick, in the same process afterwards: SQLite FTS5 table (title, summary, body; tokenize
  'porter unicode61'; body = narrative + tags, what Zhigu's body field holds for these cases): insert
  throughput (JSON parse + executemany, one commit per chunk); similar: the same descriptions as an OR of
  their distinct words, each quoted, ORDER BY bm25 LIMIT 10 (selecting title and summary); search: the
  same 2-3 words ANDed, ORDER BY bm25(3, 2, 1) LIMIT 20 with a snippet, plus a count(*) for the total.
Ratios are Zhigu / FTS5 (latency: > 1 means Zhigu is slower; throughput: < 1 means Zhigu is slower).
Latencies are given as wall time and as the process's CPU time per request (`cpu`): on a shared machine the
wall time moves with other processes' load (the load average is printed), the CPU time much less.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
NASA = ROOT.parent / "shared" / "corpora" / "nasa_llis.jsonl"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
WORD = re.compile(r"\w+")
MARKETS = ["KZ", "UZ", "ID", "VN", "TH", "MY", "PK", "EG", "NG", "KE", "ET", "SA", "AE", "TR", "RU", "BR",
           "MX", "DE", "FR", "GB", "US", "JP", "KR", "LA", "KH", "MM", "PH", "BD", "LK", "CN"]
STOP = frozenset("""a an and are as at be but by for from has have in into is it its of on or that the their
this to was were will with which after before during over under not no than then also been""".split())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def code_version() -> str:
    """The commit of the zhigu package being measured, marked dirty when zhigu/ has uncommitted changes."""
    import zhigu
    package = Path(zhigu.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=package, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=package, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{package} (not a git checkout)"
    return f"{head}{'+dirty' if dirty else ''}"


# -- synthetic data ------------------------------------------------------------------------------------------

class Recombiner:
    """Deterministic recombination of the NASA lessons' titles and sentences."""

    def __init__(self, path: Path = NASA):
        with open(path, encoding="utf-8") as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        self.titles = [r["title"].split() for r in rows if r.get("title")]
        self.summaries = [s for s in (self._sentences(r.get("summary")) for r in rows) if s]
        self.narratives = [s for s in (self._sentences(r.get("narrative")) for r in rows) if s]
        self.tags = sorted({t.strip().lower() for r in rows for t in r.get("tags") or [] if 0 < len(t.strip()) <= 40})
        from zhigu.archive.vocabulary import SECTORS, SEED_CAUSES, STAGES
        self.sectors = [s[0] for s in SECTORS]
        self.causes = [c[0] for c in SEED_CAUSES]
        self.stages = [s[0] for s in STAGES]
        counts: dict[str, int] = {}
        for words in self.titles:
            for w in words:
                w = w.lower().strip(".,:;()\"'")
                if w.isalpha() and len(w) >= 4 and w not in STOP:
                    counts[w] = counts.get(w, 0) + 1
        #: Frequent title words: the search-box queries are made of these.
        self.query_words = sorted(w for w, c in counts.items() if c >= 5)

    @staticmethod
    def _sentences(text: str | None) -> list[str]:
        return [s.strip() for s in SENTENCE.split(text or "") if len(s.strip()) > 20]

    def _fill(self, rng: random.Random, pools: list[list[str]], low: int, high: int, words: bool = False) -> str:
        """Sentences drawn from the given sources until the text reaches a random length (chars or words)."""
        target = rng.randint(low, high)
        picked, size = [], 0
        for _ in range(200):
            sentence = rng.choice(rng.choice(pools))
            picked.append(sentence)
            size += len(sentence.split()) if words else len(sentence) + 1
            if size >= target:
                break
        text = " ".join(picked)
        if words:
            return " ".join(text.split()[:high])
        return text[:high].rsplit(" ", 1)[0] if len(text) > high else text

    def title(self, rng: random.Random) -> str:
        a, b = rng.sample(self.titles, 2)
        words = a[: max(1, len(a) // 2)] + b[len(b) // 2:]
        title = " ".join(words)[:200].strip()
        return title if len(title) >= 3 else title + " lesson"

    def case(self, rng: random.Random, external_id: str) -> dict:
        k = rng.randint(3, 5)
        summaries = rng.sample(self.summaries, k)
        narratives = rng.sample(self.narratives, k)
        causes = rng.sample(self.causes, rng.randint(1, 2))
        return {
            "external_id": external_id,
            "title": self.title(rng),
            "summary": self._fill(rng, summaries, 150, 1000),
            "narrative": self._fill(rng, narratives, 800, 3500),
            "sector": rng.choice(self.sectors),
            "target_markets": rng.sample(MARKETS, rng.randint(0, 3)),
            "causes": causes,
            "primary_cause": causes[0],
            "stage_reached": rng.choice(self.stages),
            "ended_on": (date(2000, 1, 1) + timedelta(days=rng.randrange(9000))).isoformat(),
            "tags": rng.sample(self.tags, rng.randint(0, 3)),
            "language": "en",
            "source_url": f"https://llis.nasa.gov/synthetic/{external_id}",
        }

    def description(self, rng: random.Random) -> str:
        pools = rng.sample(self.summaries, 2) + rng.sample(self.narratives, 2)
        return self._fill(rng, pools, 100, 200, words=True)

    def search_words(self, rng: random.Random) -> str:
        return " ".join(rng.sample(self.query_words, rng.randint(2, 3)))


def write_cases(path: Path, n: int, seed: int, recombiner: Recombiner) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps(recombiner.case(rng, f"syn-{i:06d}"), ensure_ascii=False) + "\n")


# -- Zhigu -----------------------------------------------------------------------------------------------

def bench_zhigu(workdir: Path, jsonl: Path, n: int, chunk: int, descriptions: list[str], searches: list[str],
                import_data: bool = True, trends_requests: int = 32, neighbours_scope: str = "all") -> dict:
    from flask import got_request_exception

    from zhigu import create_app
    from zhigu.archive.services import seed_causes
    from sqlalchemy import select

    from zhigu.archive.models import FailureCase
    from zhigu.archive.transfer import import_cases
    from zhigu.extensions import db
    from zhigu.search import outbox

    def compute_neighbours(read: list[int]):
        """Store the neighbours of every case (or, with --neighbours sample, of the cases the pages below
        read) when the code has stored neighbours (zhigu.search.neighbours); (seconds, lists stored)."""
        try:
            from zhigu.search import neighbours
        except ImportError:
            return None, 0
        started = time.perf_counter()
        if neighbours_scope == "all":
            computed = neighbours.compute_missing()
        else:
            computed = neighbours.compute(sorted(set(read) & set(neighbours.missing_ids())))
        print(f"  zhigu: neighbours of {computed} cases stored in {time.perf_counter() - started:.0f} s", flush=True)
        return time.perf_counter() - started, computed

    # PROPAGATE_EXCEPTIONS off: a failing page answers 500 (counted in the status codes) instead of raising.
    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False,  # one address sends every request: the search limits would stop it
                      "DATABASE_URL": f"sqlite:///{workdir / 'zhigu.sqlite'}", "INDEX_DIR": str(workdir / "index")})
    index = app.extensions["zhigu.search"]
    index_seconds, depth = [0.0], [0]

    def timing(method):
        def timed(*args, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:  # count the outer call only
                    index_seconds[0] += time.perf_counter() - started
        return timed

    # Time every way the app writes the index after a commit: the instance attribute shadows the method, and
    # the outbox's rebuilds go through rewrite_index.
    index.update_cases = timing(index.update_cases)
    outbox.rewrite_index = timing(outbox.rewrite_index)
    out: dict = {"import_s": None, "import_rate": None, "index_s": None, "imported": n}
    with app.app_context():
        if import_data:
            db.create_all()
            seed_causes()
            started = time.perf_counter()
            imported = 0
            with open(jsonl, encoding="utf-8") as lines:
                while batch := list(islice(lines, chunk)):
                    counts = import_cases(batch)
                    imported += counts["created"] + counts["updated"]
                    db.session.remove()  # drop the chunk's objects before the next one
                    print(f"  zhigu: imported {imported}/{n} in {time.perf_counter() - started:.0f} s", flush=True)
            if index.document_count() < imported:
                # The commit hook left changes queued (an outbox drained elsewhere): apply them, timed as import.
                print(f"  zhigu: {index.document_count()}/{imported} indexed after the import; draining", flush=True)
                outbox.drain(index)
            import_seconds = time.perf_counter() - started
            out.update(import_s=import_seconds, import_rate=imported / import_seconds, index_s=index_seconds[0],
                       imported=imported)
        else:
            db.create_all()  # tables the kept database may not have yet (e.g. a newer code's)
        out["indexed"] = index.document_count()
        case_ids = list(db.session.scalars(select(FailureCase.id).order_by(FailureCase.id)))
        picker = random.Random(n)
        cases_sample = [picker.choice(case_ids) for _ in range(len(searches))]
        newest = list(db.session.scalars(select(FailureCase.id).order_by(FailureCase.published_at.desc(),
                                                                         FailureCase.id.desc()).limit(30)))
        out["neighbours_s"], out["neighbours_n"] = compute_neighbours(cases_sample + newest)

    client = app.test_client()
    errors: dict[str, str] = {}

    def first_error(sender, exception, **extra):
        from flask import request
        errors.setdefault(request.path, f"{type(exception).__name__}: {exception}")

    got_request_exception.connect(first_error, app)
    app.logger.disabled = True  # one line per failing endpoint below instead of a traceback per request

    def timed(call, items):
        latencies, cpu, statuses = [], [], {}
        for item in items:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = call(item)
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        return latencies, cpu, statuses

    similar = lambda text: client.post("/api/v1/similar", json={"description": text, "limit": 10})  # noqa: E731
    page = lambda words: client.get("/search?" + urlencode({"q": words}))  # noqa: E731
    api = lambda words: client.get("/api/v1/cases?" + urlencode({"q": words}))  # noqa: E731
    timed(similar, descriptions[:10])  # warm up: opens the searcher, fills caches
    timed(page, searches[:5])
    timed(api, searches[:5])
    phase = time.perf_counter()
    sim_ms, sim_cpu, sim_status = timed(similar, descriptions)
    print(f"  zhigu: {len(descriptions)} similar queries in {time.perf_counter() - phase:.0f} s", flush=True)
    phase = time.perf_counter()
    page_ms, page_cpu, page_status = timed(page, searches)
    api_ms, api_cpu, api_status = timed(api, searches)
    print(f"  zhigu: {2 * len(searches)} search requests in {time.perf_counter() - phase:.0f} s", flush=True)
    case_page = lambda case_id: client.get(f"/cases/{case_id}")  # noqa: E731
    timed(case_page, cases_sample[:5])
    phase = time.perf_counter()
    case_ms, case_cpu, case_status = timed(case_page, cases_sample)
    # A different window each time: the visitor's page may not serve it from a cache of an earlier request.
    today = date.today()
    windows = [{"from": (today - timedelta(days=365 + picker.randrange(3000))).isoformat(), "to": today.isoformat()}
               for _ in range(trends_requests)]
    trends = lambda window: client.get("/trends?" + urlencode(window))  # noqa: E731
    timed(trends, windows[:2])
    trends_ms, trends_cpu, trends_status = timed(trends, windows[2:])
    print(f"  zhigu: {len(cases_sample)} case pages and {len(windows) - 2} trends pages in "
          f"{time.perf_counter() - phase:.0f} s", flush=True)
    out.update(case_ms=case_ms, case_cpu_ms=case_cpu, case_status=case_status, trends_ms=trends_ms,
               trends_cpu_ms=trends_cpu, trends_status=trends_status)
    sample = similar(descriptions[0]).get_json() or {}
    out.update(similar_ms=sim_ms, similar_cpu_ms=sim_cpu, similar_status=sim_status,
               similar_hits=len(sample.get("results", [])), page_ms=page_ms, page_cpu_ms=page_cpu,
               page_status=page_status, api_ms=api_ms, api_cpu_ms=api_cpu, api_status=api_status,
               index_mb=dir_mb(workdir / "index"), db_mb=(workdir / "zhigu.sqlite").stat().st_size / 2**20,
               peak_rss_mb=peak_rss_mb(), errors=errors)
    return out


# -- SQLite FTS5 yardstick ----------------------------------------------------------------------------------

def fts_quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def bench_fts5(workdir: Path, jsonl: Path, chunk: int, descriptions: list[str], searches: list[str]) -> dict:
    path = workdir / "fts5.sqlite"
    reuse = path.exists()
    con = sqlite3.connect(path)
    if not reuse:
        con.execute("CREATE VIRTUAL TABLE cases USING fts5(title, summary, body, tokenize='porter unicode61')")
    started = time.perf_counter()
    inserted = 0
    with open(jsonl if not reuse else os.devnull, encoding="utf-8") as lines:
        while batch := list(islice(lines, chunk)):
            rows = []
            for line in batch:
                case = json.loads(line)
                body = "\n".join(filter(None, [case.get("narrative"), case.get("warning_signs"), case.get("lessons"),
                                               " ".join(case.get("tags") or [])]))
                rows.append((case["title"], case["summary"], body))
            con.executemany("INSERT INTO cases (title, summary, body) VALUES (?, ?, ?)", rows)
            con.commit()
            inserted += len(rows)
    insert_seconds = time.perf_counter() - started
    print(f"  fts5: inserted {inserted} in {insert_seconds:.1f} s", flush=True)

    def similar(text: str):
        words = dict.fromkeys(WORD.findall(text.lower()))
        match = " OR ".join(fts_quote(w) for w in words)
        return con.execute("SELECT rowid, title, summary, bm25(cases) AS s FROM cases WHERE cases MATCH ? "
                           "ORDER BY s LIMIT 10", (match,)).fetchall()

    def search(text: str):
        match = " ".join(fts_quote(w) for w in WORD.findall(text.lower()))
        rows = con.execute("SELECT rowid, title, snippet(cases, 2, '<mark>', '</mark>', '…', 24), "
                           "bm25(cases, 3.0, 2.0, 1.0) AS s FROM cases WHERE cases MATCH ? ORDER BY s LIMIT 20",
                           (match,)).fetchall()
        total = con.execute("SELECT count(*) FROM cases WHERE cases MATCH ?", (match,)).fetchone()[0]
        return rows, total

    def timed(call, items):
        latencies, cpu = [], []
        for item in items:
            started, started_cpu = time.perf_counter(), time.process_time()
            call(item)
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        return latencies, cpu

    timed(similar, descriptions[:10])
    timed(search, searches[:5])
    similar_ms, similar_cpu = timed(similar, descriptions)
    search_ms, search_cpu = timed(search, searches)
    out = {"insert_s": None if reuse else insert_seconds, "insert_rate": None if reuse else inserted / insert_seconds,
           "similar_ms": similar_ms, "similar_cpu_ms": similar_cpu, "search_ms": search_ms, "search_cpu_ms": search_cpu,
           "similar_hits": len(similar(descriptions[0])), "db_mb": path.stat().st_size / 2**20}
    con.close()
    return out


# -- one size, in a child process ----------------------------------------------------------------------------

def run_one(n: int, args) -> dict:
    reuse = bool(args.reuse)
    workdir = Path(args.reuse) if reuse else Path(tempfile.mkdtemp(prefix=f"zhigu-speed-{n}-", dir=args.tmp))
    print(f"[{n}] {'reusing' if reuse else 'working in'} {workdir}", flush=True)
    try:
        started = time.perf_counter()
        load_before, code = os.getloadavg()[0], code_version()  # at the start: the tree may change meanwhile
        recombiner = Recombiner()
        jsonl = workdir / "cases.jsonl"
        if not reuse:
            write_cases(jsonl, n, args.seed, recombiner)
        rng = random.Random(args.seed + 1)  # a separate stream: descriptions and queries are not imported
        descriptions = [recombiner.description(rng) for _ in range(args.queries)]
        searches = [recombiner.search_words(rng) for _ in range(args.search_queries)]
        words = [len(d.split()) for d in descriptions]
        print(f"[{n}] {'kept' if reuse else 'wrote'} {jsonl.stat().st_size / 2**20:.0f} MB of cases "
              f"({time.perf_counter() - started:.1f} s); "
              f"descriptions {min(words)}-{max(words)} words (median {sorted(words)[len(words) // 2]})", flush=True)
        rss_before = peak_rss_mb()
        zhigu = bench_zhigu(workdir, jsonl, n, args.chunk, descriptions, searches, import_data=not reuse,
                            trends_requests=args.trends_queries + 2, neighbours_scope=args.neighbours)
        print(f"[{n}] zhigu done in {time.perf_counter() - started:.0f} s", flush=True)
        fts = bench_fts5(workdir, jsonl, args.chunk, descriptions, searches)
        result = {"n": n, "code": code, "zhigu": zhigu, "fts5": fts, "rss_before_mb": rss_before,
                  "wall_s": time.perf_counter() - started, "load_before": load_before, "load_after": os.getloadavg()[0]}
        print(f"[{n}] all done in {result['wall_s']:.0f} s", flush=True)
        print(format_table([result]), flush=True)
        return result
    finally:
        if args.keep or reuse:
            print(f"[{n}] kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# -- report -------------------------------------------------------------------------------------------------

def format_table(results: list[dict]) -> str:
    def row(label, z, f=None, unit=""):
        if z is None:
            return f"  {label:<34} {'(reused)' if 'import' in label else '(none)':>12}"
        ratio = f"{z / f:>8.2f}" if f else f"{'':>8}"
        fz = f"{z:>12.1f}" if isinstance(z, float) else f"{z!s:>12}"
        ff = f"{f:>12.1f}" if isinstance(f, float) else f"{'' if f is None else f:>12}"
        return f"  {label:<34} {fz} {ff} {ratio}  {unit}"

    def latency_rows(label, z_ms, z_cpu, f_ms, f_cpu):
        return [row(f"{label} p{q}{' cpu' if cpu else ''}", percentile(zs, q), percentile(fs, q), "ms")
                for cpu, zs, fs in ((False, z_ms, f_ms), (True, z_cpu, f_cpu)) for q in (50, 95)]

    lines = []
    for r in results:
        z, f = r["zhigu"], r["fts5"]
        lines += [f"N = {r['n']:,} cases (wall {r['wall_s']:.0f} s; code {r.get('code', '?')}; load average "
                  f"{r['load_before']:.1f} before, {r['load_after']:.1f} after, on {os.cpu_count()} CPUs)",
                  f"  {'':<34} {'zhigu':>12} {'fts5':>12} {'z/fts5':>8}",
                  row("import+index throughput", z["import_rate"], f["insert_rate"], "cases/s"),
                  row("import+index total", z["import_s"], f["insert_s"], "s"),
                  row("  of which writing the index", z["index_s"], None, "s (update_cases, rebuild)"),
                  *latency_rows("similar", z["similar_ms"], z["similar_cpu_ms"], f["similar_ms"], f["similar_cpu_ms"]),
                  *latency_rows("search page (HTML)", z["page_ms"], z["page_cpu_ms"], f["search_ms"], f["search_cpu_ms"]),
                  *latency_rows("search API (JSON)", z["api_ms"], z["api_cpu_ms"], f["search_ms"], f["search_cpu_ms"]),
                  *[row(f"{label} p{q}{' cpu' if cpu else ''}", percentile(values, q), None, "ms")
                    for label, key in (("case page (HTML)", "case"), ("trends page (HTML)", "trends"))
                    for cpu, values in ((False, z[f"{key}_ms"]), (True, z[f"{key}_cpu_ms"])) for q in (50, 95)],
                  row(f"storing neighbours of {z['neighbours_n']} cases", z["neighbours_s"], None,
                      "s (after the import; lists already stored are kept)"),
                  row("index size", z["index_mb"], f["db_mb"], "MB (fts5: whole db)"),
                  row("database size", z["db_mb"], None, "MB"),
                  row("peak RSS after zhigu part", z["peak_rss_mb"], None, f"MB (before: {r['rss_before_mb']:.0f})"),
                  f"  queries: similar {len(z['similar_ms'])} (status {z['similar_status']}, "
                  f"hits {z['similar_hits']} vs fts5 {f['similar_hits']}), search {len(z['page_ms'])} "
                  f"(page status {z['page_status']}, API status {z['api_status']}); case pages {len(z['case_ms'])} "
                  f"(status {z['case_status']}), trends pages {len(z['trends_ms'])} (status {z['trends_status']}); "
                  f"indexed {z['indexed']}/{z['imported']}"]
        lines += [f"  first error on {path}: {error}" for path, error in z.get("errors", {}).items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated case counts")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--search-queries", type=int, default=200, help="search requests, and case pages")
    parser.add_argument("--trends-queries", type=int, default=30, help="trends pages (a different window each)")
    parser.add_argument("--neighbours", choices=("all", "sample"), default="all",
                        help="store the nearest cases of every case before measuring, or only of those the case and "
                             "trends pages read (quicker; reading a list costs the same either way)")
    parser.add_argument("--chunk", type=int, default=10_000, help="lines per import_cases call")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--tmp", default=None, help="parent directory of the temp dirs")
    parser.add_argument("--keep", action="store_true", help="keep each size's temp dir")
    parser.add_argument("--reuse", metavar="DIR", help="measure the queries again on a kept dir (from --keep), "
                        "with the current code; no import (FTS5 reused too if it was built)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reuse and not args.one:
        with open(Path(args.reuse) / "cases.jsonl", encoding="utf-8") as lines:
            args.one = sum(1 for _ in lines)
    if args.one:
        result = run_one(args.one, args)
        if args.result:
            Path(args.result).write_text(json.dumps(result))
        return 0
    results = []
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            result_path = handle.name
        child = [sys.executable, __file__, "--one", str(n), "--result", result_path, "--queries", str(args.queries),
                 "--search-queries", str(args.search_queries), "--trends-queries", str(args.trends_queries),
                 "--neighbours", args.neighbours,
                 "--chunk", str(args.chunk), "--seed", str(args.seed)]
        if args.tmp:
            child += ["--tmp", args.tmp]
        if args.keep:
            child.append("--keep")
        code = subprocess.call(child)
        if code == 0:
            results.append(json.loads(Path(result_path).read_text()))
        else:
            print(f"[{n}] failed with exit code {code}", file=sys.stderr)
        os.unlink(result_path)
    if len(results) > 1:
        print("\n== all sizes\n" + format_table(results))
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
