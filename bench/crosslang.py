"""Cross-language "find similar" on the demo archive: does a Chinese case find its English twin, and back?

The demo archive (zhigu/demo/data/cases.jsonl) was written with groups of cases that share a root cause
in different languages, sectors and countries (listed in GROUPS below, fixed when the data was written,
before any ranking). For each case of a group, the query is its title and summary (text only, no sector,
market or cause signals); the judged cases are the group's members in the *other* language.

Prints Recall@5 and MRR of those members, with the glossary bridge on and off.

    .venv/bin/python bench/crosslang.py
    .venv/bin/python bench/crosslang.py --semantic   # with the optional semantic re-ranker (its extra installed)
    .venv/bin/python bench/crosslang.py --concepts   # the concept-level set by direction (crosslang_eval/), BM25
                                                     # baseline, without and (if installed) with the multilingual extra
"""
import argparse
import itertools
import json
import statistics
import sys
import tempfile
from pathlib import Path

from zhigu import create_app
from zhigu.search import glossary, similar

DATA = Path(__file__).resolve().parent.parent / "zhigu" / "demo" / "data" / "cases.jsonl"
GROUPS = [
    ["demo-001", "demo-002"], ["demo-003", "demo-004", "demo-040"], ["demo-005", "demo-006", "demo-039"],
    ["demo-009", "demo-010"], ["demo-011", "demo-012"], ["demo-022", "demo-023"], ["demo-024", "demo-025"],
    ["demo-015", "demo-016", "demo-034"], ["demo-026", "demo-027"], ["demo-035", "demo-036"],
    ["demo-018", "demo-019"], ["demo-007", "demo-008"],
]


def evaluate(app, cases: dict[str, dict]) -> dict[str, float]:
    recalls, reciprocal_ranks = [], []
    with app.test_request_context():
        for group in GROUPS:
            for query_id in group:
                query = cases[query_id]
                others = {m for m in group if cases[m]["language"] != query["language"]}
                if not others:
                    continue
                results = similar.similar_cases(None, description=query["summary"], title=query["title"], limit=20)
                ranked = [r.case.external_id for r in results if r.case.external_id != query_id]
                recalls.append(len(others & set(ranked[:5])) / len(others))
                first = next((rank for rank, ext in enumerate(ranked, 1) if ext in others), None)
                reciprocal_ranks.append(1 / first if first else 0.0)
    return {"queries": len(recalls), "recall@5": round(sum(recalls) / len(recalls), 3),
            "mrr": round(sum(reciprocal_ranks) / len(reciprocal_ranks), 3)}


# -- the concept-level bilingual set (bench/crosslang_eval, --concepts) ---------------------------------------

CONCEPTS = Path(__file__).resolve().parent / "crosslang_eval" / "concepts.jsonl"
NASA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "nasa_llis.jsonl"
ZH_DISTRACTORS = Path(__file__).resolve().parent / "zh_eval" / "cases.jsonl"
#: English distractors: the first cases of the NASA lessons (engineering, none about a business failure);
#: Chinese ones: the 185 cases of zh_eval (farm exports and trade; a few may touch a concept, unjudged).
DISTRACTORS = 300
CUTOFF = 5


def concept_corpus(directory: Path) -> tuple[Path, list[dict]]:
    """Write the set's 120 cases plus the distractors as an import file; return it and the concepts."""
    concepts = [json.loads(line) for line in CONCEPTS.read_text(encoding="utf-8").splitlines()]
    path = directory / "concepts-corpus.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for concept in concepts:
            for language in ("en", "zh"):
                out.write(json.dumps({"external_id": f"{concept['concept']}-{language}", "language": language,
                                      **concept[language]}, ensure_ascii=False) + "\n")
        with open(NASA, encoding="utf-8") as lines:
            for line in itertools.islice(lines, DISTRACTORS):
                out.write(line if line.endswith("\n") else line + "\n")
        out.write(ZH_DISTRACTORS.read_text(encoding="utf-8").rstrip("\n") + "\n")
    return path, concepts


def concept_sets(concepts: list[dict]):
    """The set's queries by direction: each case against its twin, each one-line query against the case of
    its concept in the other language (and, to see that nothing is lost, in its own)."""
    from quality import EvalSet

    sets = []
    for source, target in (("en", "zh"), ("zh", "en")):
        sets.append(EvalSet(f"pairs {source}->{target}",
                            {f"{c['concept']}-{source}": {"title": c[source]["title"],
                                                          "description": c[source]["summary"]} for c in concepts},
                            {f"{c['concept']}-{source}": {f"{c['concept']}-{target}": 2} for c in concepts}))
    for source, target in (("en", "zh"), ("zh", "en"), ("en", "en"), ("zh", "zh")):
        sets.append(EvalSet(f"lines {source}->{target}",
                            {f"line-{c['concept']}-{source}": {"title": "", "description": c["queries"][source]}
                             for c in concepts},
                            {f"line-{c['concept']}-{source}": {f"{c['concept']}-{target}": 2} for c in concepts},
                            drop_self=False))
    return sets


def score_mrr(eval_set, rank) -> dict:
    """R@CUTOFF and MRR (first relevant within 20) of one set, each with its bootstrap 95% interval."""
    from quality import bootstrap_interval

    recalls, reciprocal = [], []
    for qid, query in eval_set.queries.items():
        relevant = {doc for doc, grade in eval_set.qrels[qid].items() if grade >= 2}
        ranking = [doc for doc in rank(qid, query) if doc != qid]
        recalls.append(len(relevant.intersection(ranking[:CUTOFF])) / len(relevant))
        first = next((n for n, doc in enumerate(ranking[:20], 1) if doc in relevant), None)
        reciprocal.append(1 / first if first else 0.0)
    return {"queries": len(recalls), "recall": statistics.fmean(recalls), "recall_ci": bootstrap_interval(recalls),
            "mrr": statistics.fmean(reciprocal), "mrr_ci": bootstrap_interval(reciprocal)}


def run_concepts(variants: list[str], vector_cache: str | None = None) -> None:
    """Build the concept corpus once; print every direction for the BM25 baseline and each variant."""
    import quality

    directory = Path(tempfile.mkdtemp(prefix="zhigu-concepts-"))
    corpus, concepts = concept_corpus(directory)
    sets = concept_sets(concepts)
    baseline = quality.Baseline(corpus)
    rows = [("BM25 baseline", s.name, score_mrr(s, lambda qid, q: baseline.rank(qid, q, 21))) for s in sets]
    app = quality.build_app(corpus, str(directory))
    client = app.test_client()
    for variant in variants:
        app.config["DENSE_RANKING"] = variant == "with extra"
        if variant == "with extra":
            quality.embed_cases(app, directory / "bench.sqlite", vector_cache)

        def rank(qid, query):
            response = client.post("/api/v1/similar", json={**query, "limit": 21})
            assert response.status_code == 200, response.get_data(True)[:300]
            return [hit["external_id"] for hit in response.get_json()["results"]]

        rows += [(variant, s.name, score_mrr(s, rank)) for s in sets]
    print(f"concept set: {len(concepts)} concepts, {2 * len(concepts)} cases + {DISTRACTORS} English and "
          f"{sum(1 for _ in open(ZH_DISTRACTORS, encoding='utf-8'))} Chinese distractors")
    print(f"{'ranking':<16}{'set':<16}{'n':>4} | {'R@5':>6} {'95% interval':>14} | {'MRR':>6} {'95% interval':>14}")
    for name, set_name, f in rows:
        recall_ci, mrr_ci = "[{:.2f}, {:.2f}]".format(*f["recall_ci"]), "[{:.2f}, {:.2f}]".format(*f["mrr_ci"])
        print(f"{name:<16}{set_name:<16}{f['queries']:>4} | {f['recall']:>6.3f} {recall_ci:>14} | "
              f"{f['mrr']:>6.3f} {mrr_ci:>14}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--semantic", action="store_true", help="turn SEMANTIC_RERANK on")
    parser.add_argument("--multilingual", action="store_true",
                        help="also with the cases' sentence vectors (the multilingual extra installed)")
    parser.add_argument("--concepts", action="store_true",
                        help="the concept-level bilingual set (crosslang_eval/) by direction, with the BM25 baseline")
    parser.add_argument("--no-extra", action="store_true", help="with --concepts: skip the multilingual extra")
    parser.add_argument("--vector-cache", metavar="SQLITE", help="with --concepts: reuse and keep the case vectors "
                        "in this file (keyed by text digest), so a second run embeds nothing")
    args = parser.parse_args()
    if args.concepts:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from zhigu.search import dense
        with_extra = dense.available() and not args.no_extra
        run_concepts(["without extra"] + (["with extra"] if with_extra else []), args.vector_cache)
        return
    cases = {c["external_id"]: c for c in map(json.loads, DATA.read_text(encoding="utf-8").splitlines())}
    workdir = tempfile.mkdtemp()
    app = create_app({"DATABASE_URL": f"sqlite:///{workdir}/zhigu.sqlite", "INDEX_DIR": f"{workdir}/index",
                      "SECRET_KEY": "bench", "TESTING": True, "SEMANTIC_RERANK": args.semantic,
                      "RATELIMIT_ENABLED": False, "DENSE_RANKING": False})
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with_glossary = evaluate(app, cases)
    saved = glossary.bridges
    glossary.bridges = lambda: []
    try:
        without = evaluate(app, cases)
    finally:
        glossary.bridges = saved
    rows = [("no glossary", without), ("with glossary", with_glossary)]
    if args.multilingual:
        assert app.test_cli_runner().invoke(args=["search", "embed"]).exit_code == 0
        app.config["DENSE_RANKING"] = True
        rows.append(("glossary + vectors", evaluate(app, cases)))
    print(f"{'variant':<20}{'queries':>8}{'R@5':>8}{'MRR':>8}")
    for name, figures in rows:
        print(f"{name:<20}{figures['queries']:>8}{figures['recall@5']:>8}{figures['mrr']:>8}")


if __name__ == "__main__":
    main()
