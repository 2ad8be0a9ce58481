"""A general bilingual dictionary (data/cedict.tsv, derived from CC-CEDICT): Chinese words to English stems
and English stems to Chinese words, as index terms, for the cross-language stage of "find similar"
(zhigu.search.crosslingual) and the search page's cases in the other language.

The hand glossary (zhigu.search.glossary) takes precedence: a term it translates is not looked up here.
The file is read once per process, on first use or by the warm-up (zhigu.search.warmup): about a second.
The tables are dicts of plain strings (one per entry, split when a query looks the entry up): tuples per
entry took 46 MB of resident memory, strings about half of that (figures in zhigu/search/data/README.md).
"""
import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from zhigu.search.analysis import analyse
from zhigu.search import glossary

DICTIONARY = Path(__file__).with_name("data") / "cedict.tsv"
#: Chinese words kept for one English term (or two-word phrase), the most frequent first.
CHINESE_PER_ENGLISH = 3

_lock = threading.Lock()
_loaded: "Dictionary | None" = None


@dataclass(frozen=True)
class Dictionary:
    #: Chinese word -> the English stems of its glosses: stems joined by " ", glosses by "|".
    chinese: dict[str, str]
    #: English stem, or two stems joined by " " in gloss order, -> Chinese words joined by " ", the most
    #: frequent first.
    english: dict[str, str]


def dictionary() -> Dictionary:
    """The dictionary of this process, read on first use (thread-safe)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _read(DICTIONARY)
    return _loaded


def _read(path: Path) -> Dictionary:
    chinese, ranked = {}, {}
    if not path.exists():
        return Dictionary({}, {})
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            word, frequency, glosses = line.rstrip("\n").split("\t")
            found = []
            for position, gloss in enumerate(glosses.split("|")):
                stems = tuple(dict.fromkeys(term for term, *_ in analyse(gloss)))
                if not stems:
                    continue
                found.append(" ".join(stems))
                if len(stems) <= 2:
                    # the primary sense and the common word first: 失败 (fail), not 败北 (be defeated)
                    rank = math.log1p(int(frequency)) - position
                    best = ranked.setdefault(" ".join(stems), [])
                    best.append((-rank, word))
                    if len(best) > CHINESE_PER_ENGLISH:  # keep few: a list per English word is most of the peak
                        best.sort()
                        best.pop()
            if found:
                chinese[word] = sys.intern("|".join(found))
    english = {key: " ".join(word for _, word in sorted(words)) for key, words in ranked.items()}
    return Dictionary(chinese, english)


def translate(terms) -> dict[str, dict[str, float]]:
    """For each of `terms` (index terms of one text, in text order) the other language's terms it stands
    for, each with a share: the glossary's equivalents when it has the term, else the dictionary's (a
    Chinese word's gloss words, 1 / words of the gloss each; an English term's Chinese words, those of the
    two-word phrase it starts first, as in "cold chain" -> 冷链)."""
    terms = list(dict.fromkeys(terms))
    present = set(terms)
    out = glossary.translations_by_term(present)
    table = dictionary()
    for term, following in zip(terms, [*terms[1:], None]):
        if term in out:
            continue
        found: dict[str, float] = {}
        if term in table.chinese:
            for gloss in table.chinese[term].split("|"):
                stems = gloss.split(" ")
                for stem in stems:
                    found[stem] = max(found.get(stem, 0.0), 1.0 / len(stems))
        else:
            phrase = table.english.get(f"{term} {following}", "") if following else ""
            for word in f"{phrase} {table.english.get(term, '')}".split():
                found.setdefault(word, 1.0)
        found = {target: share for target, share in found.items() if target not in present}
        if found:
            out[term] = found
    return out
