"""Geometry of the dashboard's server-rendered SVG charts.

The templates draw what these functions compute (no script, no style attribute: colours come from CSS
classes, sizes from SVG attributes), so a chart works under a strict Content-Security-Policy.
"""
from dataclasses import dataclass, field

WIDTH = 640
LABEL_WIDTH = 200
ROW = 22
BAR = 16
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
    #: Where the row's label ends (right-aligned); the bar's start unless the bar floats (spread charts).
    label_x: float | None = None

    def __post_init__(self):
        if self.label_x is None:
            self.label_x = self.x


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    #: Axis labels or legend entries: (x, y, text, css).
    labels: list[tuple[float, float, str, str]] = field(default_factory=list)
    #: Median marks of spread charts: (x, y1, y2).
    marks: list[tuple[float, float, float]] = field(default_factory=list)


def _scale(top: float, span: float) -> float:
    return span / top if top > 0 else 0.0


def bar_chart(rows: list[tuple[str, float]], limit: int = 15) -> Chart:
    """Horizontal bars, one per (label, value), largest first as given."""
    rows = rows[:limit]
    plot = WIDTH - LABEL_WIDTH - 50
    scale = _scale(max((value for _, value in rows), default=0), plot)
    chart = Chart(WIDTH, max(ROW * len(rows) + 4, ROW))
    for i, (label, value) in enumerate(rows):
        y = i * ROW + 2
        chart.bars.append(Bar(label, value, LABEL_WIDTH, y, max(value * scale, 1 if value else 0), BAR,
                              "series-0", f"{value:g}"))
    return chart


def stacked_columns(periods: list[str], series: dict[str, dict[str, int]], height: int = 220) -> Chart:
    """One column per period, stacked by series (the legend sits to the right of the plot)."""
    plot_left, plot_width, plot_height, top = 40, WIDTH - 230, height - 40, 10
    totals = [sum(values.get(p, 0) for values in series.values()) for p in periods]
    scale = _scale(max(totals, default=0), plot_height)
    step = plot_width / max(len(periods), 1)
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
        if len(periods) <= 12 or i % max(len(periods) // 12, 1) == 0:
            chart.labels.append((x + step * 0.35, top + plot_height + 16, period, "axis"))
        chart.labels.append((x + step * 0.35, top + plot_height - totals[i] * scale - 3,
                             str(totals[i]) if totals[i] else "", "total"))
    for s, name in enumerate(series):
        chart.bars.append(Bar(name, 0, WIDTH - 180, top + s * ROW, 12, 12, f"series-{s % SERIES_CLASSES} legend", ""))
    return chart


def spread_chart(rows: list[tuple[str, object]], limit: int = 15) -> Chart:
    """One row per (label, Spread): a box from the first to the third quartile and a median mark."""
    rows = [(label, spread) for label, spread in rows if spread.n][:limit]
    plot = WIDTH - LABEL_WIDTH - 140  # room for "1,234,567,890 (n=12)" right of the widest box
    scale = _scale(max((spread.p75 for _, spread in rows), default=0), plot)
    chart = Chart(WIDTH, max(ROW * len(rows) + 4, ROW))
    for i, (label, spread) in enumerate(rows):
        y = i * ROW + 2
        x = LABEL_WIDTH + spread.p25 * scale
        chart.bars.append(Bar(label, spread.median, x, y, max((spread.p75 - spread.p25) * scale, 1), BAR,
                              "series-0 spread", f"{spread.median:,.0f} (n={spread.n})", label_x=LABEL_WIDTH))
        chart.marks.append((LABEL_WIDTH + spread.median * scale, y - 1, y + BAR + 1))
    return chart
