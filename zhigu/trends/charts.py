"""Geometry of the dashboard's server-rendered SVG charts.

The templates draw what these functions compute (no script, no style attribute: colours come from CSS
classes, sizes from SVG attributes), so a chart works under a strict Content-Security-Policy.

Charts are drawn 360 units wide, about a phone's width, so a phone shows their text at its size (12 px) and a
desktop a little larger. Each row's label sits on its own lines above its bar, wrapped at whole words (CJK
between characters): never cut, never squeezed into a column.
"""
import math
import unicodedata
from dataclasses import dataclass, field

WIDTH = 360
#: Font size of chart text in chart units (zhigu.css sets the same for `.chart text`).
FONT = 12
LINE = 15
BAR = 12
GAP = 9
#: Room right of the longest bar for its value, and right of the widest box for "1,234,567,890 (n=12)".
VALUE_ROOM = 48
SPREAD_VALUE_ROOM = 140
SERIES_CLASSES = 7


@dataclass
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    css: str = "series-0"
    text: str = ""
    #: Where the row's label starts (left-aligned, above the bar).
    label_x: float | None = None
    #: The label's lines (whole words) and the baseline of the first.
    lines: list[str] = field(default_factory=list)
    label_y: float = 0

    def __post_init__(self):
        if self.label_x is None:
            self.label_x = 0


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    #: Axis labels: (x, y, text, css).
    labels: list[tuple[float, float, str, str]] = field(default_factory=list)
    #: Median marks of spread charts: (x, y1, y2).
    marks: list[tuple[float, float, float]] = field(default_factory=list)
    line_height: int = LINE


def text_width(text: str, size: float = FONT) -> float:
    """Estimated drawn width: wide (CJK) characters one em, others about 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in text)


def wrap(text: str, width: float = WIDTH, size: float = FONT) -> list[str]:
    """Lines of at most `width`, broken between words (and between CJK characters), never inside a word."""
    tokens, word = [], ""
    for ch in str(text):
        if unicodedata.east_asian_width(ch) in "WF":
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            tokens.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    lines, line = [], ""
    for token in tokens:
        if line and text_width((line + token).rstrip(), size) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _scale(top: float, span: float) -> float:
    return span / top if top > 0 else 0.0


def bar_chart(rows: list[tuple[str, float]], labeller=str, limit: int = 15) -> Chart:
    """Horizontal bars, one per (category, value), largest first as given; `labeller` names a category."""
    rows = rows[:limit]
    scale = _scale(max((value for _, value in rows), default=0), WIDTH - VALUE_ROOM)
    chart = Chart(WIDTH, 0)
    y = 0.0
    for category, value in rows:
        lines = wrap(labeller(category))
        bar_y = y + LINE * len(lines) + 3
        chart.bars.append(Bar(category, value, 0, bar_y, max(value * scale, 1 if value else 0), BAR, "series-0",
                              f"{value:g}", lines=lines, label_y=y + LINE - 3))
        y = bar_y + BAR + GAP
    chart.height = max(math.ceil(y), LINE)
    return chart


def stacked_columns(periods: list[str], series: dict[str, dict[str, int]], height: int = 200) -> Chart:
    """One column per period, stacked by series; the legend is the page's (HTML, so its names wrap)."""
    plot_left, plot_width, plot_height, top = 2, WIDTH - 4, height - 36, 14
    totals = [sum(values.get(p, 0) for values in series.values()) for p in periods]
    scale = _scale(max(totals, default=0), plot_height)
    step = plot_width / max(len(periods), 1)
    widest = max((text_width(p, FONT - 1) for p in periods), default=0) + 6
    every = max(1, math.ceil(widest / step))  # label every n-th period so labels never overlap
    chart = Chart(WIDTH, height)
    for i, period in enumerate(periods):
        x = plot_left + i * step + step * 0.15
        base = top + plot_height
        for s, (name, values) in enumerate(series.items()):
            value = values.get(period, 0)
            if not value:
                continue
            h = value * scale
            base -= h
            chart.bars.append(Bar(f"{name}, {period}", value, x, base, step * 0.7, h,
                                  f"series-{s % SERIES_CLASSES}", f"{value}"))
        if i % every == 0:
            chart.labels.append((x + step * 0.35, top + plot_height + 16, period, "axis"))
        if totals[i] and (every == 1 or i % every == 0):
            chart.labels.append((x + step * 0.35, top + plot_height - totals[i] * scale - 3, str(totals[i]), "total"))
    return chart


def spread_chart(rows: list[tuple[str, object]], labeller=str, limit: int = 15) -> Chart:
    """One row per (category, Spread): a box from the first to the third quartile and a median mark."""
    rows = [(category, spread) for category, spread in rows if spread.n][:limit]
    plot = WIDTH - SPREAD_VALUE_ROOM
    scale = _scale(max((spread.p75 for _, spread in rows), default=0), plot)
    chart = Chart(WIDTH, 0)
    y = 0.0
    for category, spread in rows:
        lines = wrap(labeller(category))
        bar_y = y + LINE * len(lines) + 3
        x = spread.p25 * scale
        chart.bars.append(Bar(category, spread.median, x, bar_y, max((spread.p75 - spread.p25) * scale, 1), BAR,
                              "series-0 spread", f"{spread.median:,.0f} (n={spread.n})", label_x=0, lines=lines,
                              label_y=y + LINE - 3))
        chart.marks.append((spread.median * scale, bar_y - 1, bar_y + BAR + 1))
        y = bar_y + BAR + GAP
    chart.height = max(math.ceil(y), LINE)
    return chart
