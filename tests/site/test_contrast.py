"""Colour contrast of the stylesheet (WCAG 2.1: 4.5:1 for text, 3:1 for focus rings and chart marks)."""
import re

from helpers import ROOT


CSS_FILE = ROOT / "zhigu" / "static" / "zhigu.css"


def _css_colours() -> tuple[str, dict[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", CSS_FILE.read_text(), flags=re.S)
    root = re.search(r":root\s*\{(.*?)\}", css, re.S).group(1)
    return css, dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", root))


def _hex(value: str, variables: dict[str, str]) -> str | None:
    value = value.strip()
    match = re.fullmatch(r"var\(--([\w-]+)\)", value)
    if match:
        value = variables.get(match.group(1), "")
    return value if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value) else None


def contrast(first: str, second: str) -> float:
    def luminance(colour: str) -> float:
        digits = colour.lstrip("#")
        digits = "".join(c * 2 for c in digits) if len(digits) == 3 else digits
        channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_helper_matches_known_ratios():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the classic lightest grey passing AA on white


#: Text colours and the backgrounds they sit on that no single rule states (inherited or nested).
TEXT_PAIRS = [("text", "bg"), ("text", "bg-soft"), ("muted", "bg"), ("muted", "bg-soft"), ("muted", "accent-soft"),
              ("accent", "bg"), ("accent", "bg-soft"), ("accent", "accent-soft"), ("accent-dark", "bg"),
              ("accent-dark", "accent-soft"), ("danger", "bg"), ("danger", "danger-soft"), ("warn-text", "warn-soft"),
              ("ok-text", "ok-soft"), ("ok-text", "bg"), ("text", "mark"), ("muted", "mark"), ("accent", "mark"),
              ("#ffffff", "#12263a"), ("#e8eef4", "#12263a"), ("#ffd166", "#12263a"), ("#ffffff", "text")]


#: Non-text marks: the focus ring on the page and on the dark header.
MARK_PAIRS = [("focus", "bg"), ("focus", "bg-soft"), ("focus", "#12263a")]


def test_text_colours_have_enough_contrast():
    css, variables = _css_colours()
    resolve = lambda name: variables.get(name, name)  # noqa: E731
    weak = [(fg, bg, round(contrast(resolve(fg), resolve(bg)), 2)) for fg, bg in TEXT_PAIRS
            if contrast(resolve(fg), resolve(bg)) < 4.5]
    weak += [(fg, bg, round(contrast(resolve(fg), resolve(bg)), 2)) for fg, bg in MARK_PAIRS
             if contrast(resolve(fg), resolve(bg)) < 3.0]
    # every rule that sets both a text colour and a background (buttons, badges, flashes, chips, ...)
    checked = 0
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        colour = _hex(declarations.get("color", ""), variables)
        background = _hex(declarations.get("background-color", declarations.get("background", "")), variables)
        if colour and background:
            checked += 1
            if contrast(colour, background) < 4.5:
                weak.append((selector.strip(), colour, round(contrast(colour, background), 2)))
    assert checked >= 15
    assert weak == []


def test_chart_marks_stand_out_from_the_page():
    css, variables = _css_colours()
    fills = re.findall(r"\.series-\d\s*\{\s*fill:\s*(#[0-9a-fA-F]{6})", css)
    assert len(fills) == 7
    assert [f for f in fills if contrast(f, variables["bg"]) < 3.0] == []
