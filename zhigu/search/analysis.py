"""One analyzer for every language the archive holds.

Han text is segmented into words by jieba, with the domain dictionary in data/userdict.txt, and also indexed
as overlapping character bigrams, which find words the dictionary does not know and the shorter words
inside long ones (跨境电商 also matches 电商). Measured on bench/zh_eval, text only: Recall@10 0.50 with
jieba's search mode alone, 0.52 with its default mode, 0.55 with default mode plus bigrams (kept). Other scripts are split on
word boundaries and lowercased; English words are stemmed (Porter2, i.e. Snowball English) and stop words of both languages dropped.
Mixed text ("EV电池工厂", "SaaS平台") is split at the script boundary, so each part is analysed by its rules.
"""
import logging
import re
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path

import jieba
from whoosh.analysis import Analyzer, Token
from whoosh.analysis.analyzers import STOP_WORDS
from whoosh.formats import Frequency
from whoosh.lang.porter2 import stem
from whoosh.system import pack_uint

USER_DICT = Path(__file__).with_name("data") / "userdict.txt"
#: Runs of Han characters, or runs of other word characters (letters and digits of any script).
SEGMENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CHINESE_STOP_WORDS = frozenset(
    "的 了 和 与 及 或 是 在 有 也 都 而 被 把 对 从 于 为 以 之 其 这 那 个 些 我们 他们 它 她 他 你 我 "
    "就 并 但 又 很 将 已 已经 由 等 等等 中 上 下 后 前 时 里 到 让 使 因 因为 所以 如果 这个 那个 一个 "
    "没有 不 没 还 会 要 能 可以 可 把 被 给 向 跟 着 过 地 得 吗 呢 吧 啊 之后 之前 以及 通过 进行".split()
)
ENGLISH_STOP_WORDS = frozenset(STOP_WORDS) | frozenset(
    "was were been has had have did does its their his her our they them this these those which who "
    "what when where would could should into than then there also after before over about because".split()
)

#: Words of the spelling vocabulary ("did you mean"): three letters or more of any script but Han (the
#: documents replace Han text with spaces), digits and underscores excluded.
SPELLING_WORD = re.compile(r"[^\W\d_]{3,}")
#: Terms of each run of text (a SEGMENT match) already analysed, for indexing: an archive repeats its words,
#: and a run's terms depend on the run alone. Emptied when it reaches RUN_CACHE_SIZE entries.
RUN_CACHE_SIZE = 100_000
_run_terms: dict[str, tuple[str, ...]] = {}

_jieba_ready = threading.Lock()
_jieba_loaded = False


def _segmenter():
    """Load jieba's dictionary and ours once per process (about a second, so not at import)."""
    global _jieba_loaded
    if not _jieba_loaded:
        with _jieba_ready:
            if not _jieba_loaded:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                if USER_DICT.exists():
                    with USER_DICT.open("rb") as words:
                        jieba.load_userdict(words)
                _jieba_loaded = True
    return jieba


@lru_cache(maxsize=50_000)
def stem_english(word: str) -> str:
    return stem(word)


def is_han(text: str) -> bool:
    return bool(HAN.match(text))


def han_words(text: str, bigrams: bool = True):
    """Yield (word, start, end) of a run of Han text: jieba's words, then its character bigrams if asked."""
    yield from _segmenter().tokenize(text, mode="default")
    if bigrams:
        for start in range(len(text) - 1):
            yield text[start:start + 2], start, start + 2


def analyse(text: str, bigrams: bool = True):
    """Yield (term, original, start, end) for each indexable word of `text`; Han bigrams unless told not to."""
    for match in SEGMENT.finditer(text or ""):
        run, offset = match.group(), match.start()
        if is_han(run):
            for word, start, end in han_words(run, bigrams):
                if word not in CHINESE_STOP_WORDS:
                    yield word, word, offset + start, offset + end
            continue
        lowered = run.lower()
        if lowered.isascii():
            if len(lowered) < 2 or lowered in ENGLISH_STOP_WORDS:
                continue
            term = stem_english(lowered) if lowered.isalpha() else lowered
        else:
            term = lowered
        yield term, run, offset, offset + len(run)


def index_terms(text: str) -> list[str]:
    """The terms `analyse` gives for `text`, in order, without offsets: what indexing needs, with less Python
    per word (each distinct run of text is analysed once per process)."""
    terms = []
    for run in SEGMENT.findall(text or ""):
        known = _run_terms.get(run)
        if known is None:
            if len(_run_terms) >= RUN_CACHE_SIZE:
                _run_terms.clear()
            known = _run_terms[run] = tuple(term for term, _, _, _ in analyse(run))
        terms += known
    return terms


class _LastCounts(threading.local):
    """The term counts of the text analysed last in this thread: Whoosh asks again for a field's term vector."""
    text = None
    counts: dict[str, int] = {}


class MultilingualAnalyzer(Analyzer):
    """Whoosh analyzer over `analyse`: the same terms at index and at query time."""

    _last = _LastCounts()

    def __eq__(self, other):
        return isinstance(other, MultilingualAnalyzer)

    def term_counts(self, text: str) -> dict[str, int]:
        """How many times each term occurs in `text` (TermCounts' postings)."""
        last = self._last
        if last.text is not text:
            last.counts, last.text = Counter(index_terms(text)), text
        return last.counts

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for position, (term, original, start, end) in enumerate(analyse(value), start=start_pos):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = original
            if positions:
                token.pos = position
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


class SpellingAnalyzer(Analyzer):
    """The distinct SPELLING_WORDs of a text, lowercased: the vocabulary "did you mean" looks words up in.

    Each word once: what the vocabulary needs is which documents hold it, not how often.
    """

    def __eq__(self, other):
        return isinstance(other, SpellingAnalyzer)

    def term_counts(self, text: str) -> dict[str, int]:
        return dict.fromkeys({word.lower() for word in set(SPELLING_WORD.findall(text))}, 1)  # each word lowered once

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        words = self.term_counts(value) if tokenize else {value.lower(): 1}
        for position, word in enumerate(words, start=start_pos):
            token.text = token.original = word
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = position
            yield token


class TermCounts(Frequency):
    """Whoosh's Frequency format (the same postings and vectors), counted by the analyzer's `term_counts`.

    Frequency builds a Token object per word and, for a field with a term vector, analyses the text a
    second time; `term_counts` does neither (the vector reuses the last counts).
    """

    def word_values(self, value, analyzer, **kwargs):
        if not hasattr(analyzer, "term_counts"):
            return super().word_values(value, analyzer, **kwargs)
        boost = self.field_boost
        return [(term, count, count * boost, pack_uint(count)) for term, count in analyzer.term_counts(value).items()]
