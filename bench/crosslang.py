"""Cross-language "find similar" on the demo archive: does a Chinese case find its English twin, and back?

The demo archive (zhigu/demo/data/cases.jsonl) was written with groups of cases that share a root cause
in different languages, sectors and countries (listed in GROUPS below, fixed when the data was written,
before any ranking). For each case of a group, the query is its title and summary (text only, no sector,
market or cause signals); the judged cases are the group's members in the *other* language.

Prints Recall@5 and MRR of those members, with the glossary bridge on and off.

    .venv/bin/python bench/crosslang.py
    .venv/bin/python bench/crosslang.py --semantic   # with the optional semantic re-ranker (its extra installed)
"""
import argparse
import json
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--semantic", action="store_true", help="turn SEMANTIC_RERANK on")
    args = parser.parse_args()
    cases = {c["external_id"]: c for c in map(json.loads, DATA.read_text(encoding="utf-8").splitlines())}
    workdir = tempfile.mkdtemp()
    app = create_app({"DATABASE_URL": f"sqlite:///{workdir}/zhigu.sqlite", "INDEX_DIR": f"{workdir}/index",
                      "SECRET_KEY": "bench", "TESTING": True, "SEMANTIC_RERANK": args.semantic,
                      "RATELIMIT_ENABLED": False})
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with_glossary = evaluate(app, cases)
    saved = glossary.bridges
    glossary.bridges = lambda: []
    try:
        without = evaluate(app, cases)
    finally:
        glossary.bridges = saved
    print(f"{'variant':<18}{'queries':>8}{'R@5':>8}{'MRR':>8}")
    for name, figures in (("no glossary", without), ("with glossary", with_glossary)):
        print(f"{name:<18}{figures['queries']:>8}{figures['recall@5']:>8}{figures['mrr']:>8}")


if __name__ == "__main__":
    main()
