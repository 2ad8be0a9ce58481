"""Guess a text's language when the filer does not say, so search can analyse it."""
import re

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LETTER = re.compile(r"[^\W\d_]")


def detect_language(text: str) -> str:
    """Return an ISO 639-1 code; Chinese when Han characters make up a fair share of the letters."""
    letters = LETTER.findall(text or "")
    if not letters:
        return "en"
    if len(HAN.findall(text)) / len(letters) > 0.15:
        return "zh"
    import py3langid  # imported here: loading its model costs ~0.3 s, paid only when needed

    return py3langid.classify(text)[0]
