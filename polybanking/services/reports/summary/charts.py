"""Bar charts as SVG text: drawn once, shown inline by the admin page and embedded in the PDF.

Plain SVG 1.1 (rectangles, lines, text; no script, no CSS, no external resource), so a page under
a strict CSP shows it and fpdf2 draws it as vectors. Every label is escaped: config and group
names are typed by administrators.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from ..money import chf_display

if TYPE_CHECKING:
    from .summary import GroupSummary, Summary

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
WIDTH = 760
LEFT, RIGHT, TOP, PLOT_HEIGHT = 90, 20, 36, 200
LEGEND_COLUMNS, LEGEND_ROW = 3, 18
MAX_LABEL = 30


@dataclass(frozen=True)
class Series:
    """One colour of the stacked bars: a name and one value (cents) per category."""

    name: str
    values: Sequence[int]


def _nice_step(maximum: int, ticks: int = 5) -> int:
    """A round step (1, 2 or 5 × 10ⁿ cents) giving about ``ticks`` gridlines up to ``maximum``."""
    raw = max(maximum / ticks, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover (the loop always returns)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _text(x: float, y: float, content: str, size: int = 11, anchor: str = "start", weight: str = "") -> str:
    bold = ' font-weight="bold"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="#222222"{bold}>{escape(content)}</text>'
    )


def stacked_bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """An SVG document: one stacked bar per category, a y axis in CHF, a legend below."""
    legend_rows = -(-len(series) // LEGEND_COLUMNS)
    height = TOP + PLOT_HEIGHT + 30 + legend_rows * LEGEND_ROW + 8
    plot_width = WIDTH - LEFT - RIGHT
    bottom = TOP + PLOT_HEIGHT
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    step = _nice_step(max(totals, default=0))
    top_value = max(step, -(-max(totals, default=0) // step) * step)

    def y(value: int) -> float:
        return bottom - value * PLOT_HEIGHT / top_value

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label={quoteattr(title)}>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(LEFT, 20, title, size=14, weight="bold"),
    ]
    for tick in range(0, top_value + 1, step):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" '
            f'stroke="#dddddd" stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 6, y(tick) + 4, chf_display(tick), size=10, anchor="end"))

    slot = plot_width / max(len(categories), 1)
    bar = min(slot * 0.7, 64)  # a few months should not look like a wall
    every = max(1, -(-len(categories) // 16))  # at most 16 labels under the bars
    for index, category in enumerate(categories):
        x = LEFT + index * slot + (slot - bar) / 2
        base = 0
        for number, entry in enumerate(series):
            value = entry.values[index]
            if value > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + value):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + value):.1f}" fill="{PALETTE[number % len(PALETTE)]}">'
                    f"<title>{escape(f'{entry.name}, {category}: {chf_display(value)} CHF')}</title></rect>"
                )
            base += value
        if index % every == 0:
            parts.append(_text(x + bar / 2, bottom + 14, category, size=10, anchor="middle"))
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" '
        'stroke="#444444" stroke-width="1"/>'
    )
    if not any(totals):
        parts.append(_text(LEFT + plot_width / 2, TOP + PLOT_HEIGHT / 2, "No payments", anchor="middle"))

    column_width = plot_width / LEGEND_COLUMNS
    for number, entry in enumerate(series):
        row, column = divmod(number, LEGEND_COLUMNS)
        lx = LEFT + column * column_width
        ly = bottom + 30 + row * LEGEND_ROW
        colour = PALETTE[number % len(PALETTE)]
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(lx + 14, ly, _short(entry.name), size=10))
    parts.append("</svg>")
    return "\n".join(parts)


def overview_chart(summary: "Summary") -> str:
    """Paid per month, one colour per config group."""
    labels = [month.label for month in summary.months]
    series = [Series(group.label, group.months) for group in summary.groups]
    return stacked_bar_chart("Paid per month, by group (CHF)", labels, series)


def group_chart(summary: "Summary", group: "GroupSummary") -> str:
    """Paid per month in one group, one colour per config."""
    labels = [month.label for month in summary.months]
    series = [Series(line.name, line.months) for line in group.configs]
    return stacked_bar_chart(f"{group.label}: paid per month, by config (CHF)", labels, series)
