"""Search snippets: Whoosh's highlighting, the same fragments and marks, with a few Python steps per word.

Whoosh's Highlighter turns every word of a text into a Token object and passes it through three generators
(matched, merged, fragmented); on a search page that was 2,500 words and 40% of an API search's CPU at 10,000
cases. `highlighted` walks the words of `analysis.analyse` as plain tuples through the same steps as
Whoosh's set_matched_filter, Highlighter._merge_matched_tokens and ContextFragmenter, then scores, picks and
formats the fragments with Whoosh's own BasicFragmentScorer, top_fragments and formatter, so a snippet is the
one Whoosh gives (tests/search/test_highlighting.py compares them). Each run of text is analysed once per
process (RUN_CACHE_SIZE runs): the same summaries come back page after page. The best fragments of the last
FRAGMENT_CACHE_SIZE (text, words) pairs are kept: only their formatting, which numbers the marked terms in the
order the page shows them, is done for each page.
"""
import re
import threading
from collections import OrderedDict, deque

from whoosh import highlight

from zhigu.search.analysis import SEGMENT, analyse

#: Runs of text (analysis.SEGMENT) whose words are kept with their offsets in the run.
RUN_CACHE_SIZE = 100_000
#: What ContextFragmenter examines of a text at most (Whoosh's default).
CHAR_LIMIT = highlight.DEFAULT_CHARLIMIT
#: A snippet starts where the sentence of its first marked word starts, if that is no further back than this.
SENTENCE_LOOKBACK = 120
SENTENCE_ENDS = re.compile(r"[.!?。！？；;\n]\s*")

#: (text, words, ...) pairs whose best fragments are kept, the least recently shown let go. A search's results
#: come back for the next visitor who searches the same words: finding their fragments again (every word of a
#: narrative analysed, merged and cut) was a tenth of the web workers' CPU under bench/load.py at 10,000 cases.
#: About 2 KB each, most of it the text.
FRAGMENT_CACHE_SIZE = 4_096

_runs: dict[str, tuple] = {}
_group, _start = re.Match.group, re.Match.start
_runs_lock = threading.Lock()
_best: OrderedDict = OrderedDict()
_best_lock = threading.Lock()


class Match:
    """A marked word of a fragment, with what Whoosh's scorer and formatter read of a Token."""

    __slots__ = ("text", "startchar", "endchar", "boost")

    def __init__(self, text: str, startchar: int, endchar: int):
        self.text, self.startchar, self.endchar, self.boost = text, startchar, endchar, 1.0


def words_of(text: str) -> list[tuple[str, int, int]]:
    """(term, start, end) of each word `analyse` finds in `text`, in its order (Han runs: words, then bigrams).

    The runs, their starts and their known terms are listed by C-level maps, then the words in one comprehension:
    a quarter less CPU than a loop of Python steps per run."""
    matches = list(SEGMENT.finditer(text))
    runs = list(map(_group, matches))
    known = list(map(_runs.get, runs))
    if None in known:
        for n, terms in enumerate(known):
            if terms is None:
                terms = known[n] = tuple((term, start, end) for term, _, start, end in analyse(runs[n]))
                with _runs_lock:
                    if len(_runs) >= RUN_CACHE_SIZE:
                        _runs.clear()
                    _runs[runs[n]] = terms
    return [(term, offset + start, offset + end)
            for terms, offset in zip(known, map(_start, matches)) for term, start, end in terms]


def _merged(tokens, words: frozenset):
    """(term, start, end, matched) as Whoosh's Highlighter._merge_matched_tokens yields them: consecutive
    overlapping marked words become one (its text grows as Whoosh's does); a marked word that does not overlap
    the one before ends that one and is yielded on its own."""
    current = None
    for term, start, end in tokens:
        if term not in words:
            if current is not None:
                yield (*current, True)
                current = None
            yield term, start, end, False
        elif current is None:
            current = [term, start, end]
        elif start <= current[2]:
            if end > current[2]:
                current[0] += term[current[2] - end:]
                current[2] = end
        else:
            yield (*current, True)
            current = None
            yield term, start, end, True
    if current is not None:
        yield (*current, True)


def _fragments(text: str, tokens, maxchars: int, surround: int):
    """Whoosh's ContextFragmenter.fragment_tokens over (term, start, end, matched), then each fragment's start
    moved back to its sentence's (services.SentenceStartFragmenter)."""
    first, firsts, countdown, matches, currentlen, endchar = None, deque(), -1, [], 0, None
    for term, startchar, endchar, matched in tokens:
        length = endchar - startchar
        if endchar > CHAR_LIMIT:
            break
        if countdown < 0 and not matched:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > surround:
                firsts.popleft()
        elif currentlen + length > maxchars:
            countdown = 0
        elif matched:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += surround
            matches.append(Match(term, startchar, endchar))
        if countdown >= 0:
            currentlen += length
            countdown -= length
            if countdown <= 0:
                yield sentence_start(text, highlight.mkfrag(text, matches, startchar=first, endchar=endchar))
                first, firsts, matches, currentlen = None, deque(), [], 0
    if matches:
        yield sentence_start(text, highlight.mkfrag(text, matches, startchar=first, endchar=endchar))


def sentence_start(text: str, fragment: highlight.Fragment) -> highlight.Fragment:
    """Start the fragment where the sentence of its first marked word starts, when that is no more than
    SENTENCE_LOOKBACK characters back (a snippet that opens mid-sentence reads as garbled)."""
    first_match = min((match.startchar for match in fragment.matches), default=fragment.startchar)
    window = max(0, first_match - SENTENCE_LOOKBACK)
    ends = list(SENTENCE_ENDS.finditer(text, window, first_match))
    if ends:
        fragment.startchar = ends[-1].end()
    elif window == 0:
        fragment.startchar = 0
    return fragment


def highlighted(text: str, words: frozenset[str], highlighter: highlight.Highlighter, top: int = 2) -> str:
    """The best `top` fragments of `text` with the terms `words` marked, formatted by `highlighter`'s formatter
    (which numbers the terms it has marked so far), as highlighter.highlight_hit would give them."""
    if not words or not text:
        return ""
    fragmenter = highlighter.fragmenter
    key = (text, words, top, fragmenter.maxchars, fragmenter.surround, type(highlighter.scorer), highlighter.order)
    best = _best.get(key)
    if best is None:
        fragments = _fragments(text, _merged(words_of(text), words), fragmenter.maxchars, fragmenter.surround)
        best = tuple(highlight.top_fragments(fragments, top, highlighter.scorer, highlighter.order, minscore=1))
        with _best_lock:
            _best[key] = best
            if len(_best) > FRAGMENT_CACHE_SIZE:
                _best.popitem(last=False)
    else:
        with _best_lock:
            if key in _best:
                _best.move_to_end(key)
    return highlighter.formatter.format(best)
