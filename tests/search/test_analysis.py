"""The analyzer's indexing path (index_terms) gives exactly the terms of `analyse`, whatever the script."""
import pytest

from zhigu.search import analysis
from zhigu.search.analysis import analyse, index_terms

TEXTS = [
    "Solar kettles boiled water for clinics until the grid came; the kettles were cheap.",
    "跨境电商平台在哈萨克斯坦倒闭了，因为物流成本太高。",
    "EV电池工厂 and SaaS平台 in Hà Nội: 3D printers, R2-D2, don't, İstanbul, “quotes” — 2024",
    "",
    "   ",
]


@pytest.mark.parametrize("text", TEXTS)
def test_index_terms_are_the_terms_of_analyse(text):
    expected = [term for term, _, _, _ in analyse(text)]

    assert index_terms(text) == expected
    assert index_terms(text) == expected  # again, from the cache of runs


def test_a_full_run_cache_is_emptied_not_grown(monkeypatch):
    monkeypatch.setattr(analysis, "RUN_CACHE_SIZE", 3)
    monkeypatch.setattr(analysis, "_run_terms", {})

    assert index_terms("one two three four five") == ["one", "two", "three", "four", "five"]
    assert len(analysis._run_terms) <= 3
