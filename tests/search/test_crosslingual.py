"""The cross-language stage of "find similar" (zhigu.search.crosslingual) and its dictionary, without the extra."""
import pytest

from zhigu.search import dense, dictionary
from zhigu.search.analysis import analyse
from zhigu.search.crosslingual import other_language


@pytest.fixture(autouse=True)
def _without_the_extra(monkeypatch):
    monkeypatch.setattr(dense, "available", lambda: False)


def _terms(text: str) -> list[str]:
    return [term for term, *_ in analyse(text, bigrams=False)]


def _ids(archive, prefix: str) -> set[int]:
    return {case.id for name, case in archive.items() if name.startswith(prefix)}


@pytest.fixture
def archive(cast, make_case):
    """Cases whose words share nothing across languages (no name, no glossary term): only the dictionary
    links the refrigeration cases and the franchise cases."""
    return {
        "zh_cold": make_case(cast.author, title="冷藏车制冷机停转，整车樱桃腐烂", language="zh", narrative="",
                             lessons="", summary="冷藏车排队三天，柴油耗尽后制冷机停转，樱桃腐烂，收货方拒收。"),
        "zh_tea": make_case(cast.author, title="奶茶加盟店开业半年关门", language="zh", narrative="", lessons="",
                            summary="加盟商交了加盟费，总部不提供培训和供货，门店亏损倒闭。"),
        "zh_app": make_case(cast.author, title="校园社交软件用户增长停滞", language="zh", narrative="", lessons="",
                            summary="学生下载后很少打开，广告收入不足以支付服务器费用。"),
        "en_bakery": make_case(cast.author, title="Bakery franchise outlets closed within a year", narrative="",
                               lessons="", summary="Franchisees paid a franchise fee but the head office gave "
                                                   "them no training and no supply; every outlet lost money."),
        "en_drone": make_case(cast.author, title="Drone mapping service for mines", narrative="", lessons="",
                              summary="Mining companies kept their own survey teams and never renewed."),
    }


def test_an_english_description_finds_the_chinese_case_on_the_same_concept(api_as, archive):
    response = api_as(None).post("/api/v1/similar", json={
        "title": "Refrigerated trucks stranded at the border",
        "description": "The refrigeration units stopped, the cherries rotted and the buyer rejected the load."})

    assert response.status_code == 200
    results = response.get_json()["results"]
    first = next(result for result in results if result["id"] in _ids(archive, "zh_"))
    assert first["id"] == archive["zh_cold"].id
    assert first["why"]["other_language"] is True


def test_a_chinese_description_finds_the_english_case_on_the_same_concept(api_as, archive):
    response = api_as(None).post("/api/v1/similar", json={
        "title": "面包连锁加盟失败", "description": "加盟商付了加盟费，总部既没有培训也没有供货。"})

    assert response.status_code == 200
    results = response.get_json()["results"]
    first = next(result for result in results if result["id"] in _ids(archive, "en_"))
    assert first["id"] == archive["en_bakery"].id
    assert first["why"]["other_language"] is True


def test_a_hidden_case_never_comes_back_through_the_cross_language_stage(api_as, cast, make_case, archive):
    private = make_case(cast.author, title="冷藏集装箱断电，制冷失败", summary="冷藏集装箱在港口断电，制冷停止，货物腐烂。",
                        language="zh", narrative="", lessons="", visibility="private")
    draft = make_case(cast.author, title="冷藏仓库制冷机组故障", summary="冷藏仓库的制冷机组故障，货物腐烂。",
                      language="zh", narrative="", lessons="", status="draft")
    body = {"title": "Refrigeration failure", "description": "Refrigerated containers lost power; the refrigeration "
                                                            "stopped and the fruit rotted."}

    found = [result["id"] for result in api_as(None).post("/api/v1/similar", json=body).get_json()["results"]]
    found_by_author = [result["id"] for result in
                       api_as(cast.author).post("/api/v1/similar", json=body).get_json()["results"]]

    assert archive["zh_cold"].id in found  # the stage ran and found the public case
    assert private.id not in found and draft.id not in found
    assert private.id in found_by_author and draft.id not in found_by_author  # its author may open it


def test_the_glossary_wins_over_the_dictionary():
    # 融资: the glossary says "fundraising"; CC-CEDICT glosses it "financing"
    assert "financ" in dictionary.dictionary().chinese["融资"]
    assert dictionary.translate(["融资"]) == {"融资": {"fundrais": 1.0}}


def test_the_dictionary_maps_words_both_ways():
    chinese = dictionary.translate(_terms("冷藏"))
    english = dictionary.translate(_terms("warehouse in the cold chain"))

    assert "refriger" in chinese["冷藏"]
    assert "仓库" in english["warehous"]
    assert "冷链" in english["cold"]  # a two-word gloss is looked up as a phrase


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "🙂🙂", "x" * 20_000, "冷" * 6000])
def test_bad_or_empty_input_gives_no_error(api_as, archive, text):
    response = api_as(None).post("/api/v1/similar", json={"title": "", "description": text})

    assert response.status_code in (200, 422)
    assert dictionary.translate(_terms(text)) is not None


def test_translate_of_nothing_is_empty():
    assert dictionary.translate([]) == {}
    assert dictionary.translate(["zzzqqq", "一"]) == {}


def test_the_other_language_follows_the_script_of_the_text():
    assert other_language("霍尔果斯冷链仓库 in Almaty") == "en"
    assert other_language("cold chain 冷链") == "zh"


def test_an_english_description_finds_chinese_cases_in_an_archive_without_english(api_as, cast, make_case):
    cold = make_case(cast.author, title="冷藏车制冷机停转，整车樱桃腐烂", language="zh", narrative="", lessons="",
                     summary="冷藏车排队三天，柴油耗尽后制冷机停转，樱桃腐烂，收货方拒收。")
    make_case(cast.author, title="奶茶加盟店开业半年关门", language="zh", narrative="", lessons="",
              summary="加盟商交了加盟费，总部不提供培训和供货，门店亏损倒闭。")

    response = api_as(None).post("/api/v1/similar", json={"description": "refrigeration failed and the cherries rotted"})

    assert response.status_code == 200
    assert [result["id"] for result in response.get_json()["results"]][:1] == [cold.id]



def test_a_glossary_entry_is_found_only_with_all_its_words_and_each_equivalent_at_its_largest_share(monkeypatch):
    from zhigu.search import glossary

    pairs = [(("solar", "pump"), ("光伏", "水泵")), (("光伏", "水泵"), ("solar", "pump")),
             (("pump",), ("水泵",)), (("水泵",), ("pump",))]
    monkeypatch.setattr(glossary, "bridges", lambda: pairs)
    glossary._bridges_by_first_term.cache_clear()
    try:
        found = glossary.translations_by_term({"pump", "kettl", "solar"})
        assert found == {"solar": {"光伏": 0.5, "水泵": 0.5}, "pump": {"光伏": 0.5, "水泵": 1.0}}
        assert list(found) == ["solar", "pump"]  # in the glossary's order
        assert glossary.translations_by_term({"pump"}) == {"pump": {"水泵": 1.0}}
        assert glossary.translations_by_term({"solar", "水泵"}) == {"水泵": {"pump": 1.0}}
    finally:
        glossary._bridges_by_first_term.cache_clear()
