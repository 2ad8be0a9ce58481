"""The cross-language bridge: a bilingual glossary of domain terms (data/glossary.tsv).

A description that uses a glossary term in one language also looks for its equivalents in the other, so a
Chinese description finds English cases about the same thing and the other way round. (The other bridge is
the cause taxonomy: each case's causes are indexed with both their Chinese and English labels.)
"""
from functools import lru_cache
from pathlib import Path

from zhigu.search.analysis import analyse

GLOSSARY = Path(__file__).with_name("data") / "glossary.tsv"


def _terms(text: str) -> tuple[str, ...]:
    """Index terms of a glossary entry: whole words only, as a writer would use them."""
    return tuple(dict.fromkeys(term for term, *_ in analyse(text, bigrams=False)))


@lru_cache(maxsize=1)
def bridges() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(source terms, target terms) pairs, both directions of every glossary line."""
    pairs = []
    if not GLOSSARY.exists():
        return pairs
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        chinese, english = (part.strip() for part in line.split("\t", 1))
        zh_terms, en_terms = _terms(chinese), _terms(english)
        if zh_terms and en_terms:
            pairs.append((zh_terms, en_terms))
            pairs.append((en_terms, zh_terms))
    return pairs


@lru_cache(maxsize=1)
def _bridges_by_first_term() -> dict[str, list[int]]:
    """The positions in bridges() of the entries each term is the first word of: a description of 200 words
    checked every entry of both directions, 1 ms of each "find similar"."""
    positions: dict[str, list[int]] = {}
    for at, (source, _) in enumerate(bridges()):
        positions.setdefault(source[0], []).append(at)
    return positions


def translations_by_term(terms: set[str]) -> dict[str, dict[str, float]]:
    """For each of `terms` that a glossary entry found in `terms` holds, that entry's equivalents not among
    `terms`, each weighted 1 / (words in the equivalent).

    An entry is found when all of its words are among `terms`; a multi-word equivalent spreads its
    weight over its words so that a phrase does not count more than a single word.
    """
    out: dict[str, dict[str, float]] = {}
    pairs, by_first_term = bridges(), _bridges_by_first_term()
    # only the entries whose first word is among `terms` can be found, in the glossary's order as before
    for at in sorted(at for term in terms for at in by_first_term.get(term, ())):
        source, target = pairs[at]
        if all(term in terms for term in source):
            for term in source:
                found = out.setdefault(term, {})
                for equivalent in target:
                    if equivalent not in terms:
                        found[equivalent] = max(found.get(equivalent, 0.0), 1.0 / len(target))
    return out


def translations(terms: set[str]) -> dict[str, float]:
    """Equivalents of the glossary entries found in `terms`, each with its weight (translations_by_term)."""
    return strongest(translations_by_term(terms))


def strongest(by_term: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each equivalent of a {term: {equivalent: share}} mapping once, with its largest share."""
    found: dict[str, float] = {}
    for equivalents in by_term.values():
        for term, share in equivalents.items():
            found[term] = max(found.get(term, 0.0), share)
    return found
