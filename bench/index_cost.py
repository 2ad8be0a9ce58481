"""What each part of a case's index document costs to write: CPU per document, adding and committing.

Builds N documents once (bench/speed.py's synthetic cases recombined from nasa_llis.jsonl), then writes them
into a fresh Whoosh index with the app's schema and writer (zhigu.search.writing) and with one part left out at a time: the `spell` field (the
"did you mean" vocabulary), the term vectors of title and summary (read by "find similar"). Each variant runs
--repeat times, alternating, and the median is printed; CPU time of this process, so other load moves it less.

    .venv/bin/python bench/index_cost.py [--cases 2000] [--repeat 3]
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import speed  # noqa: E402
from whoosh import index as whoosh_index  # noqa: E402

from zhigu.search.analysis import _segmenter  # noqa: E402
from zhigu.search.documents import SPELL_SCRIPT, build_schema, text_field  # noqa: E402
from zhigu.search.writing import IndexWriter  # noqa: E402


def documents(n: int) -> list[dict]:
    rng, recombiner = random.Random(1), speed.Recombiner()
    built = []
    for number in range(n):
        case = recombiner.case(rng, f"bench-{number}")
        body = "\n".join(filter(None, [case.get("narrative"), case.get("warning_signs"), case.get("lessons")]))
        built.append({"id": str(number), "title": case["title"], "summary": case["summary"], "body": body,
                      "spell": SPELL_SCRIPT.sub(" ", f"{case['title']}\n{case['summary']}\n{body}"),
                      "allowed": "public"})
    return built


def schema_without(part: str | None):
    schema = build_schema()
    if part == "spell":
        schema.remove("spell")
    elif part == "vectors":
        for name in ("title", "summary"):
            analyzer = schema[name].analyzer
            schema.remove(name)
            schema.add(name, text_field(analyzer))
    return schema


def write(docs: list[dict], part: str | None) -> tuple[float, float]:
    """CPU ms per document: adding, committing."""
    with tempfile.TemporaryDirectory() as folder:
        writer = IndexWriter(whoosh_index.create_in(folder, schema_without(part)))
        started = time.process_time()
        for doc in docs:
            writer.add_document(**{name: value for name, value in doc.items() if name != part})
        added = time.process_time()
        writer.commit()
        committed = time.process_time()
    return 1000 * (added - started) / len(docs), 1000 * (committed - added) / len(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _segmenter()  # jieba's dictionary: once per process, not a per-document cost
    docs = documents(args.cases)
    variants = {"full document": None, "without spell": "spell", "without title/summary vectors": "vectors"}
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(args.repeat):
        for label, part in variants.items():
            runs[label].append(write(docs, part))
    full = statistics.median(add + commit for add, commit in runs["full document"])
    print(f"{args.cases} documents, median of {args.repeat} runs, CPU ms per document")
    print(f"{'variant':32s} {'add':>6s} {'commit':>7s} {'total':>6s} {'vs full':>8s}")
    for label, results in runs.items():
        add = statistics.median(a for a, _ in results)
        commit = statistics.median(c for _, c in results)
        total = statistics.median(a + c for a, c in results)
        print(f"{label:32s} {add:6.2f} {commit:7.2f} {total:6.2f} {total / full:8.2f}")


if __name__ == "__main__":
    main()
