"""The search page's cases in the other language (zhigu.search.other_language)."""
import pytest
from flask_login import AnonymousUserMixin

from tests.search.test_dense import model  # noqa: F401  (the stand-in model fixture)
from zhigu.search import dense, other_language
from zhigu.search.index import SearchIndex


def test_an_english_search_shows_chinese_cases_through_the_glossary(client, make_case, cast, monkeypatch):
    monkeypatch.setattr(dense, "available", lambda: False)
    zh = make_case(cast.author, title="霍尔果斯冷链仓储项目亏损", summary="冷链车辆和冷库的利用率一直太低，项目亏损。", language="zh")
    hidden = make_case(cast.author, title="冷链配送中心闲置", summary="冷链配送需求被严重高估，中心闲置。", language="zh",
                       visibility="private")

    page = client.get("/search?q=cold+chain").get_data(as_text=True)

    assert "Cases in Chinese on the same subject" in page
    assert zh.title in page
    assert hidden.title not in page  # the viewer's access rule, as for the results above it


def test_a_search_without_equivalents_shows_no_other_language_block(client, make_case, cast, monkeypatch):
    monkeypatch.setattr(dense, "available", lambda: False)
    make_case(cast.author, title="霍尔果斯冷链仓储项目亏损", summary="冷链车辆和冷库的利用率一直太低，项目亏损。", language="zh")

    page = client.get("/search?q=almaty").get_data(as_text=True)

    assert "on the same subject" not in page


@pytest.mark.parametrize("visibility", ["public", "private"])
def test_with_the_extra_cases_close_in_meaning_are_marked(app, client, make_case, cast, runner, model,
                                                          monkeypatch, visibility):
    monkeypatch.setattr(other_language, "MIN_LIKENESS", 0.5)  # the stand-in's few cases: a lower bar
    zh = make_case(cast.author, title="撒马尔罕果蔬冷库项目闲置", summary="冷库建成后农户不愿付费储存。", language="zh",
                   visibility=visibility)
    for n in range(3):
        make_case(cast.author, title=f"蔬菜大棚项目 {n}", summary="大棚建成后一直无人租用。", language="zh")
    runner.invoke(args=["search", "embed"])

    page = client.get("/search?q=refrigerated+rooms").get_data(as_text=True)

    if visibility == "public":
        assert zh.title in page and "similar meaning" in page
    else:
        assert zh.title not in page


def test_cases_the_viewer_may_not_open_do_not_move_the_order(app, make_case, cast, monkeypatch):
    """The equivalents are ranked with the statistics of what the viewer may open: ten private cases full of 冷链
    made it a common word, and ranked the case holding it twice below the one holding 仓储 once."""
    monkeypatch.setattr(dense, "available", lambda: False)
    monkeypatch.setattr(other_language, "equivalent_terms", lambda text: {"冷链": 1.0, "仓储": 1.0})
    twice = make_case(cast.author, title="冷链项目亏损", summary="冷链车辆的利用率一直太低。", language="zh")
    once = make_case(cast.author, title="仓储项目亏损", summary="车辆的利用率一直太低，亏损。", language="zh")
    for n in range(10):
        make_case(cast.author, title=f"冷链配送中心 {n}", summary="冷链配送需求被严重高估了。", language="zh", visibility="private")

    with app.test_request_context():
        language, results = other_language.other_language_cases(AnonymousUserMixin(), "cold storage")

    assert language == "zh"
    assert [result.case.id for result in results] == [twice.id, once.id]


def test_the_search_page_shows_the_other_language_from_the_generation_it_searched(client, make_case, cast, monkeypatch):
    """A generation another process committed between the results and the block below them is not opened
    mid-page: opening it carried its statistics over a second time."""
    monkeypatch.setattr(dense, "available", lambda: False)
    zh = make_case(cast.author, title="霍尔果斯冷链仓储项目亏损", summary="冷链车辆和冷库的利用率一直太低，项目亏损。", language="zh")
    make_case(cast.author, title="Cold chain for melons", summary="Refrigerated trucks for melons stood idle all year.")
    opened = []
    original = SearchIndex.searcher
    monkeypatch.setattr(SearchIndex, "searcher", lambda self: opened.append(1) or original(self))

    page = client.get("/search?q=cold+chain").get_data(as_text=True)

    assert zh.title in page and "Cold chain for melons" in page
    assert len(opened) == 1
