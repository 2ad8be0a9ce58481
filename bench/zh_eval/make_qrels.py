"""Derive qrels.tsv for the Chinese eval set mechanically from the labels.

Rule (see README.md): grade 2 = case has the query's primary_cause AND sector;
grade 1 = same primary_cause, other sector; otherwise 0 (not written).
Output is TREC format: query_id<TAB>0<TAB>external_id<TAB>grade. Stdlib only.
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name):
    with open(HERE / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    cases, queries = load("cases.jsonl"), load("queries.jsonl")
    rows = []
    for q in queries:
        for c in cases:
            if c["primary_cause"] != q["primary_cause"]:
                continue
            grade = 2 if c["sector"] == q["sector"] else 1
            rows.append(f"{q['query_id']}\t0\t{c['external_id']}\t{grade}\n")
    (HERE / "qrels.tsv").write_text("".join(rows), encoding="utf-8")
    print(f"wrote {len(rows)} judgements for {len(queries)} queries")


if __name__ == "__main__":
    main()
