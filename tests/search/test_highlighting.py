"""Snippets marked with plain tuples are the ones Whoosh's own highlighting pipeline gives, word for word."""
import json
import random

import pytest
from whoosh import highlight

from helpers import ROOT, corpus_path
from zhigu.search import highlighting
from zhigu.search.analysis import MultilingualAnalyzer, analyse
from zhigu.search.services import _highlighter

FIXTURE = ROOT / "tests" / "search" / "quality_fixture.json"


def whoosh_highlighted(text: str, words: frozenset[str], highlighter: highlight.Highlighter, top: int = 2) -> str:
    """Whoosh's pipeline, as the search page ran it before: Token objects through its generators."""
    if not words:
        return ""
    tokens = MultilingualAnalyzer()(text, positions=True, chars=True, mode="index", removestops=False)
    tokens = highlighter._merge_matched_tokens(highlight.set_matched_filter(tokens, words))
    fragments = highlight.top_fragments(highlighter.fragmenter.fragment_tokens(text, tokens), top,
                                        highlighter.scorer, highlighter.order, minscore=1)
    return highlighter.formatter.format(fragments)


def texts() -> list[str]:
    """English incident reports, the Chinese and English cases of the quality fixture, and edge cases."""
    found = []
    with open(corpus_path("nasa_llis.jsonl"), encoding="utf-8") as lines:
        for line, _ in zip(lines, range(60)):
            row = json.loads(line)
            found += [row["summary"], "\n".join(filter(None, [row.get("narrative"), row.get("lessons")]))]
    for row in json.loads(FIXTURE.read_text(encoding="utf-8"))["cases"]:
        found += [row["summary"], row.get("narrative", "")]
    long_text = " ".join(found[:40])
    return found + [long_text * 3,  # past Whoosh's 32,768-character limit
                    "光伏电站光伏组件。储能电池！电池储能；电池", "Solar. Solar solar SOLAR, solar-panels; solar.", ""]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return texts()


def test_the_corpus_has_chinese_english_and_long_texts(corpus):
    assert any("光伏" in text for text in corpus) and any("inverter" in text for text in corpus)
    assert max(map(len, corpus)) > highlight.DEFAULT_CHARLIMIT


@pytest.mark.parametrize("seed", range(4))
def test_snippets_are_whooshs(corpus, seed):
    rng = random.Random(seed)
    ours, theirs = _highlighter(), _highlighter()  # one per page: both number the marked terms alike
    compared = marked = 0
    for text in corpus:
        terms = sorted({term for term, _, _, _ in analyse(text)})
        for size in (1, 2, 4):
            words = frozenset(rng.sample(terms, min(size, len(terms))) + ["absentword"])
            expected = whoosh_highlighted(text, words, theirs)
            assert highlighting.highlighted(text, words, ours) == expected, (text[:80], sorted(words))
            compared += 1
            marked += '<mark class="hl' in expected
    assert compared > 300 and marked > compared * 0.9


def test_no_words_or_no_text_gives_no_snippet():
    assert highlighting.highlighted("Solar panels for farms", frozenset(), _highlighter()) == ""
    assert highlighting.highlighted("", frozenset({"solar"}), _highlighter()) == ""
    assert highlighting.highlighted("Solar panels", frozenset({"wind"}), _highlighter()) == ""


def test_a_snippet_starts_at_its_sentence_and_escapes_the_text():
    text = "First sentence is long enough to be cut off here. Then the <b>solar</b> farm failed to sell power."

    snippet = highlighting.highlighted(text, frozenset({"solar"}), _highlighter())

    assert snippet.startswith("Then the &lt;b&gt;") and '<mark class="hl t0">solar</mark>' in snippet


def test_fragments_are_found_once_per_text_and_words_and_numbered_on_each_page(monkeypatch):
    monkeypatch.setattr(highlighting, "_best", highlighting.OrderedDict())
    monkeypatch.setattr(highlighting, "FRAGMENT_CACHE_SIZE", 2)
    cut = []
    fragments = highlighting._fragments
    monkeypatch.setattr(highlighting, "_fragments", lambda text, *args: cut.append(text) or fragments(text, *args))
    solar, wind = "Solar farms sold power.", "Wind farms sold power."
    words = frozenset({"solar", "wind", "power"})

    first_page = _highlighter()
    first = [highlighting.highlighted(text, words, first_page) for text in (solar, wind)]
    second_page = _highlighter()
    second = [highlighting.highlighted(text, words, second_page) for text in (wind, solar)]

    assert cut == [solar, wind]  # the second page found none again
    assert first == ['<mark class="hl t0">Solar</mark> farms sold <mark class="hl t1">power</mark>',
                     '<mark class="hl t2">Wind</mark> farms sold <mark class="hl t1">power</mark>']
    assert second == ['<mark class="hl t0">Wind</mark> farms sold <mark class="hl t1">power</mark>',
                      '<mark class="hl t2">Solar</mark> farms sold <mark class="hl t1">power</mark>']
    tidal = "Tidal farms sold power."
    highlighting.highlighted(tidal, words, second_page)  # lets go of the least recently shown: wind
    highlighting.highlighted(solar, words, second_page)
    highlighting.highlighted(wind, words, second_page)
    assert cut == [solar, wind, tidal, wind]


def test_a_narratives_markdown_marks_are_left_out_of_its_snippet_text():
    from zhigu.search.services import plain_text

    text = ("# Pumps\n\n- The *pump* and __seal__ failed; see [the log](http://x/y) and `code`.\n"
            "> Quoted ~~old~~ text\n  3. Third step with snake_case_name and _stress_ at 2.5 bar.")

    assert plain_text(text) == ("Pumps\nThe pump and seal failed; see the log and code.\nQuoted old text\n"
                                "Third step with snake_case_name and stress at 2.5 bar.")
