"""Search quality of "find similar": Recall@10 and nDCG@10 through the public API, against a plain Whoosh baseline.

Run (from the project root; about a minute):

    .venv/bin/python bench/quality.py            # the two AIID dev qrels sets
    .venv/bin/python bench/quality.py --zh       # also the Chinese set in bench/zh_eval
    .venv/bin/python bench/quality.py --per-query out.tsv   # also write every query's figures
    .venv/bin/python bench/quality.py --short    # also each query's title alone: a one-line description

What it measures
----------------
A throwaway app (temporary SQLite file and Whoosh index) imports ../shared/corpora/aiid_incidents.jsonl
through `zhigu.archive.transfer.import_cases` (so the index is built by the app's own after-commit hook).
For every query id of each dev qrels file it POSTs `/api/v1/similar` through the Flask test client, as a
visitor, with {"title": <query case title>, "description": <query case summary>, "limit": 11}, drops the
query case itself and keeps the top 10.

- Recall@10 = relevant found in the top 10 / min(number relevant, 10); relevant = grade >= 2. Averaged over
  the queries that have at least one relevant case (a query with none has no defined recall; the gmf set has
  55 such queries of 121). `R@10 all` averages over every query, counting those as 0.
- nDCG@10 with linear graded gains (gain = grade, so grade 1 counts), discount 1/log2(rank + 1); the ideal
  DCG is built from all judged grades of the query. Averaged over every query of the qrels file.
- The baseline, in the same run: a plain Whoosh index (StandardAnalyzer TEXT fields `title` and `summary`,
  default BM25F) queried with MultifieldParser(["title", "summary"], group=OrGroup) on the query's
  title + summary (tokens from the analyzer, so no character can break the parser), top 11, self dropped.
- Latency of the similar requests (p50/p95 ms, through the test client: schema, search, row loading, JSON).

`--short` asks every query again with its title alone as the description (on the Chinese set, a query
without a title gives the first 30 characters of its description): the one-line descriptions founders
type, which share few words with the cases that matter.

`--zh` does the same on bench/zh_eval (cases.jsonl imported; queries.jsonl title + description; qrels.tsv);
there the baseline is the same plain index whose StandardAnalyzer does no segmentation (a run of Han
characters is one token), i.e. "jieba against no segmentation". `--zh-sector` also sends each query's
`sector` (what a founder fills in on the initiative form; note that the zh qrels grade on the sector too).

Use from Python (to try ranking variants without re-importing):

    import sys; sys.path.insert(0, "bench")
    import quality
    app = quality.build_app()                 # imports the AIID corpus once (~15 s)
    print(quality.format_table(quality.evaluate(app)))
    import zhigu.search.similar as s; s.SIMILAR_FIELD_WEIGHTS = {"title": 3.0, "summary": 2.0, "body": 1.0}
    print(quality.format_table(quality.evaluate(app)))
    # the ranking's module constants (SIMILAR_MAX_TERMS, FEEDBACK_DOCS, ...) are read at call time: they take
    # effect at once; quality.evaluate(app, payload=lambda qid, q: {...}) changes the request body;
    # quality.evaluate(app, sets=quality.zh_sets()) on an app built with build_app(quality.ZH_CASES)
"""
from __future__ import annotations

import argparse
import atexit
import csv
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
AIID_CASES = CORPORA / "aiid_incidents.jsonl"
AIID_QRELS = {
    "same_actor": CORPORA / "aiid_dev_qrels_same_actor_same_failure.tsv",
    "gmf_failure_mode": CORPORA / "aiid_dev_qrels_gmf_failure_mode.tsv",
}
ZH_DIR = ROOT / "bench" / "zh_eval"
ZH_CASES = ZH_DIR / "cases.jsonl"
K = 10
RELEVANT = 2


@dataclass
class EvalSet:
    """Queries (id -> {"title", "description", ...}) and their judgments (id -> {external_id: grade})."""

    name: str
    queries: dict[str, dict]
    qrels: dict[str, dict[str, int]]
    #: Drop a result whose external_id is the query id (the AIID queries are cases of the corpus).
    drop_self: bool = True


@dataclass
class Result:
    name: str
    queries: int = 0
    recall: float = 0.0
    recall_all: float = 0.0
    rel_queries: int = 0
    ndcg: float = 0.0
    #: Bootstrap 95% interval of `recall` over the queries: how much of a difference is noise.
    recall_ci: tuple[float, float] = (0.0, 0.0)
    latencies_ms: list[float] = field(default_factory=list)
    per_query: dict[str, tuple[float | None, float]] = field(default_factory=dict)

    def latency(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


# -- data -------------------------------------------------------------------------------------------------

def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels `query_id 0 doc_id grade` (tabs or spaces) -> {query_id: {doc_id: grade}}."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as rows:
        for row in rows:
            parts = row.split()
            if len(parts) >= 4:
                qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels


def aiid_sets(cases_path: Path = AIID_CASES, qrels_paths: dict[str, Path] = AIID_QRELS) -> list[EvalSet]:
    """The AIID dev sets: each query is a case of the corpus, asked with its title and summary."""
    cases = {row["external_id"]: row for row in read_jsonl(cases_path)}
    sets = []
    for name, path in qrels_paths.items():
        qrels = read_qrels(path)
        queries = {qid: {"title": cases[qid]["title"], "description": cases[qid]["summary"]} for qid in qrels}
        sets.append(EvalSet(name, queries, qrels, drop_self=True))
    return sets


def zh_sets(directory: Path = ZH_DIR, with_sector: bool = False) -> list[EvalSet]:
    """The Chinese set: queries.jsonl (title + description) judged by qrels.tsv."""
    queries = {}
    for row in read_jsonl(directory / "queries.jsonl"):
        query = {"title": row.get("title", ""), "description": row["description"]}
        if with_sector and row.get("sector"):
            query["sector"] = row["sector"]
        queries[row["query_id"]] = query
    qrels = read_qrels(directory / "qrels.tsv")
    return [EvalSet("zh" + ("+sector" if with_sector else ""),
                    {qid: q for qid, q in queries.items() if qid in qrels}, qrels, drop_self=False)]


def title_only(eval_set: EvalSet) -> EvalSet:
    """The same set asked with each query's title alone (a short one-line description)."""
    queries = {qid: {"description": query.get("title") or query["description"][:30]}
               for qid, query in eval_set.queries.items()}
    return EvalSet(eval_set.name + " title", queries, eval_set.qrels, eval_set.drop_self)


def code_version() -> str:
    """The commit of the zhigu package being measured, marked dirty when zhigu/ has uncommitted changes."""
    import subprocess

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


# -- metrics ----------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def recall_at(ranking: list[str], judged: dict[str, int], k: int = K) -> float | None:
    relevant = {doc for doc, grade in judged.items() if grade >= RELEVANT}
    if not relevant:
        return None
    return len(relevant.intersection(ranking[:k])) / min(len(relevant), k)


def ndcg_at(ranking: list[str], judged: dict[str, int], k: int = K) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def bootstrap_interval(values: list[float], draws: int = 2000) -> tuple[float, float]:
    """95% interval of the mean of `values` by resampling them (fixed seed, so runs compare)."""
    if not values:
        return 0.0, 0.0
    rng = random.Random(0)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(draws))
    return means[int(0.025 * draws)], means[int(0.975 * draws) - 1]


def score(eval_set: EvalSet, rank: Callable[[str, dict], list[str]], k: int = K) -> Result:
    """Run `rank(qid, query) -> external_ids` for every query of the set and average the metrics."""
    result = Result(eval_set.name)
    recalls, ndcgs = [], []
    for qid, query in eval_set.queries.items():
        judged = eval_set.qrels.get(qid, {})
        started = time.perf_counter()
        ranking = rank(qid, query)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        if eval_set.drop_self:
            ranking = [doc for doc in ranking if doc != qid]
        recall, ndcg = recall_at(ranking, judged, k), ndcg_at(ranking, judged, k)
        result.per_query[qid] = (recall, ndcg)
        if recall is not None:
            recalls.append(recall)
        ndcgs.append(ndcg)
    result.queries = len(eval_set.queries)
    result.rel_queries = len(recalls)
    result.recall = statistics.fmean(recalls) if recalls else 0.0
    result.recall_ci = bootstrap_interval(recalls)
    result.recall_all = sum(recalls) / result.queries if result.queries else 0.0
    result.ndcg = statistics.fmean(ndcgs) if ndcgs else 0.0
    return result


# -- Zhigu through the public API ---------------------------------------------------------------------------

def build_app(cases_path: Path = AIID_CASES, directory: str | None = None, **config):
    """Create a throwaway app in `directory` (a new temp dir by default) and import a corpus into it."""
    from zhigu import create_app
    from zhigu.archive.services import seed_causes
    from zhigu.archive.transfer import import_cases
    from zhigu.extensions import db
    from zhigu.search import outbox

    if directory is None:
        directory = tempfile.mkdtemp(prefix="zhigu-quality-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)  # throwaway: gone when Python exits
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "bench",
        "DATABASE_URL": f"sqlite:///{Path(directory) / 'bench.sqlite'}",
        "INDEX_DIR": str(Path(directory) / "index"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,  # one address asks hundreds of times: the search limits would stop it
        **config,
    })
    with app.app_context():
        db.create_all()
        seed_causes()
        with open(cases_path, encoding="utf-8") as lines:
            counts = import_cases(lines)
        index = app.extensions["zhigu.search"]
        if index.document_count() < counts["created"] + counts["updated"]:
            outbox.drain(index)  # the commit hook left changes queued for a worker: apply them before measuring
        db.session.remove()
    return app


def default_payload(qid: str, query: dict, limit: int = K + 1) -> dict:
    return {**query, "limit": limit}


def evaluate(app_or_client, sets: list[EvalSet] | None = None, payload: Callable[[str, dict], dict] = default_payload,
             k: int = K) -> list[Result]:
    """Score POST /api/v1/similar on each set (the AIID dev sets by default); returns one Result per set.

    `app_or_client` is a Flask app or its test client; the app must already hold the corpus (build_app).
    """
    client = app_or_client.test_client() if hasattr(app_or_client, "test_client") else app_or_client
    sets = aiid_sets() if sets is None else sets

    def rank(qid: str, query: dict) -> list[str]:
        response = client.post("/api/v1/similar", json=payload(qid, query))
        if response.status_code != 200:
            raise RuntimeError(f"{qid}: /api/v1/similar answered {response.status_code}: {response.get_data(True)[:300]}")
        return [hit["external_id"] for hit in response.get_json()["results"]]

    rank(*next(iter(sets[0].queries.items())))  # warm up: opens the searcher, loads jieba if needed
    return [score(eval_set, rank, k) for eval_set in sets]


# -- the plain Whoosh baseline -------------------------------------------------------------------------------

class Baseline:
    """A plain Whoosh index: StandardAnalyzer title and summary, BM25F, MultifieldParser with OrGroup."""

    def __init__(self, cases_path: Path):
        from whoosh.analysis import StandardAnalyzer
        from whoosh.fields import ID, TEXT, Schema
        from whoosh.filedb.filestore import RamStorage
        from whoosh.qparser import MultifieldParser, OrGroup

        self.analyzer = StandardAnalyzer()
        schema = Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=self.analyzer),
                        summary=TEXT(analyzer=self.analyzer))
        self.index = RamStorage().create_index(schema)
        writer = self.index.writer()
        for row in read_jsonl(cases_path):
            writer.add_document(id=row["external_id"], title=row.get("title", ""), summary=row.get("summary", ""))
        writer.commit()
        self.parser = MultifieldParser(["title", "summary"], schema=schema, group=OrGroup)
        self.searcher = self.index.searcher()

    def rank(self, qid: str, query: dict, limit: int = K + 1) -> list[str]:
        text = f"{query.get('title', '')} {query.get('description', '')}"
        # The analyzer's own tokens (lowercase words and dotted acronyms): nothing the parser reads as syntax.
        words = " ".join(token.text for token in self.analyzer(text))
        if not words:
            return []
        return [hit["id"] for hit in self.searcher.search(self.parser.parse(words), limit=limit)]

    def evaluate(self, sets: list[EvalSet], k: int = K) -> list[Result]:
        return [score(eval_set, lambda qid, q: self.rank(qid, q, k + 1), k) for eval_set in sets]


# -- report -------------------------------------------------------------------------------------------------

def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def format_table(zhigu: list[Result], baseline: list[Result] | None = None) -> str:
    """One row per set: Zhigu's figures, and the baseline's and the ratios when given."""
    head = f"{'set':<24} {'queries':>7} {'w/rel':>5} | {'R@10':>6} {'95% interval':>13} {'R@10all':>7} {'nDCG@10':>7} | {'p50 ms':>6} {'p95 ms':>6}"
    if baseline:
        head += f" || {'base R@10':>9} {'R@10all':>7} {'nDCG@10':>7} {'p50 ms':>6} | {'R ratio':>7} {'nDCG ratio':>10}"
    lines = [head, "-" * len(head)]
    for i, z in enumerate(zhigu):
        line = (f"{z.name:<24} {z.queries:>7} {z.rel_queries:>5} | {z.recall:>6.3f} {z.recall_ci[0]:>6.3f}-{z.recall_ci[1]:<6.3f} {z.recall_all:>7.3f} "
                f"{z.ndcg:>7.3f} | {z.latency(50):>6.1f} {z.latency(95):>6.1f}")
        if baseline:
            b = baseline[i]
            line += (f" || {b.recall:>9.3f} {b.recall_all:>7.3f} {b.ndcg:>7.3f} {b.latency(50):>6.1f} | "
                     f"{ratio(z.recall, b.recall):>7} {ratio(z.ndcg, b.ndcg):>10}")
        lines.append(line)
    return "\n".join(lines)


def write_per_query(path: str, zhigu: list[Result], baseline: list[Result]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["set", "query_id", "zhigu_recall", "zhigu_ndcg", "base_recall", "base_ndcg"])
        for z, b in zip(zhigu, baseline):
            for qid, (recall, ndcg) in z.per_query.items():
                b_recall, b_ndcg = b.per_query[qid]
                writer.writerow([z.name, qid, "" if recall is None else f"{recall:.4f}", f"{ndcg:.4f}",
                                 "" if b_recall is None else f"{b_recall:.4f}", f"{b_ndcg:.4f}"])


def run(title: str, cases_path: Path, sets: list[EvalSet], multilingual: bool = False,
        vector_cache: str | None = None) -> tuple[list[Result], list[Result]]:
    started = time.perf_counter()
    directory = tempfile.mkdtemp(prefix="zhigu-quality-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    app = build_app(cases_path, directory, DENSE_RANKING=False)
    built = time.perf_counter() - started
    zhigu = evaluate(app, sets)
    baseline = Baseline(cases_path).evaluate(sets)
    print(f"\n== {title}: {cases_path.name} ({sum(1 for _ in open(cases_path, encoding='utf-8'))} cases; "
          f"import + index {built:.1f} s)")
    print(format_table(zhigu, baseline))
    if multilingual:
        embed_cases(app, Path(directory) / "bench.sqlite", vector_cache)
        app.config["DENSE_RANKING"] = True
        hybrid = evaluate(app, sets)
        for result in hybrid:
            result.name += " +vectors"
        print(format_table(hybrid, baseline))
        return zhigu + hybrid, baseline + baseline  # one baseline row per Zhigu row (write_per_query)
    return zhigu, baseline


def embed_cases(app, database: Path, cache: str | None = None) -> None:
    """Embed the archive's cases (the multilingual extra), first taking the vectors `cache` (an SQLite file)
    holds for the same texts, then keeping every vector there for the next run."""
    import sqlite3

    from zhigu.search import dense

    def copy(source: str, target: str) -> None:
        with sqlite3.connect(target) as connection:
            connection.execute("attach ? as source", (source,))
            connection.execute("create table if not exists case_embedding as select * from source.case_embedding "
                               "where 0")
            connection.execute("insert or ignore into case_embedding (model, digest, vector, created_at) "
                               "select model, digest, vector, created_at from source.case_embedding")
        connection.close()

    if cache and Path(cache).exists():
        copy(cache, str(database))
    with app.app_context():
        started, cpu = time.perf_counter(), time.process_time()
        count = dense.embed_backlog()
        print(f"embedded {count} case(s): {time.perf_counter() - started:.1f} s wall, "
              f"{time.process_time() - cpu:.1f} s CPU")
    if cache:
        copy(str(database), cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zh", action="store_true", help="also evaluate bench/zh_eval")
    parser.add_argument("--zh-only", action="store_true", help="only evaluate bench/zh_eval")
    parser.add_argument("--zh-sector", action="store_true", help="zh queries also send their sector")
    parser.add_argument("--per-query", metavar="TSV", help="write each query's figures to this file")
    parser.add_argument("--short", action="store_true", help="also ask each query with its title alone")
    parser.add_argument("--multilingual", action="store_true",
                        help="also with the cases' sentence vectors (the multilingual extra), same run")
    parser.add_argument("--vector-cache", metavar="SQLITE", help="with --multilingual: reuse and keep the vectors "
                        "in this file (keyed by text digest), so a second run embeds nothing")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"zhigu code: {code_version()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    zhigu, baseline = [], []
    if not args.zh_only:
        sets = aiid_sets()
        z, b = run("AIID dev qrels (baseline: plain Whoosh BM25F OR)", AIID_CASES,
                   sets + [title_only(s) for s in sets] if args.short else sets, args.multilingual, args.vector_cache)
        zhigu += z
        baseline += b
    if args.zh or args.zh_only or args.zh_sector:
        if not (ZH_DIR / "qrels.tsv").exists():
            print(f"\n{ZH_DIR} has no qrels.tsv yet; skipping the Chinese set.")
        else:
            sets = zh_sets()
            if args.zh_sector:
                sets += zh_sets(with_sector=True)
            if args.short:
                sets += [title_only(sets[0])]
            z, b = run("Chinese set (Zhigu with jieba vs plain Whoosh without segmentation)", ZH_CASES, sets,
                       args.multilingual, args.vector_cache)
            zhigu += z
            baseline += b
    if args.per_query:
        write_per_query(args.per_query, zhigu, baseline)
    print(f"\nR@10 over queries with >= 1 relevant (w/rel), with a bootstrap 95% interval over those queries; "
          f"R@10all counts the others as 0; nDCG over all queries.")
    print(f"Total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
