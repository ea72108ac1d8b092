"""The summary as a PDF for the committee: the same tables and SVG charts as the admin page.

fpdf2 is pure Python and draws the SVG charts as vectors; the DejaVu font shipped in
``polybanking/fonts`` writes any name an administrator typed. Nothing beyond what pip installs.
"""

import io
import logging
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF, FontFace

from ..money import chf_display
from .charts import group_chart, overview_chart
from .summary import GroupSummary, PaidTransaction, Summary

FONTS = Path(__file__).resolve().parents[3] / "fonts"  # polybanking/fonts
FAMILY = "DejaVu Sans"  # the charts' first font-family, so their text uses it too
MONTHS_PER_TABLE = 12
NAME_WIDTH = 58  # mm
CHART_WIDTH = 240  # mm
BOLD = FontFace(emphasis="BOLD")
HEADING = FontFace(emphasis="BOLD", fill_color=(230, 235, 242))


class _Document(FPDF):
    def __init__(self, summary: Summary):
        super().__init__(orientation="L", unit="mm", format="A4")
        self.summary = summary
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSansCondensed.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSansCondensed-Bold.ttf"))
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(f"Summary of payments, {summary.period}")
        self.set_creator("PolyBanking")
        self.set_creation_date(summary.generated_at)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, size=7)
        generated = self.summary.generated_at.strftime("%Y-%m-%d %H:%M")
        self.cell(0, 4, f"PolyBanking summary, {self.summary.period}, generated {generated}")
        self.cell(0, 4, f"Page {self.page_no()}/{{nb}}", align="R", new_x="LMARGIN")

    def heading(self, text: str, size: int = 12) -> None:
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        self.set_font(FAMILY, size=8)

    def chart(self, svg: str) -> None:
        """An SVG chart at full width, on a new page if it does not fit on this one."""
        width, height = _svg_size(svg)
        shown = height * CHART_WIDTH / width
        if self.get_y() + shown > self.h - self.b_margin:
            self.add_page()
        self.image(io.BytesIO(svg.encode()), x=self.l_margin, y=self.get_y(), w=CHART_WIDTH)
        self.set_y(self.get_y() + shown + 4)

    def month_table(self, rows: Sequence[tuple[str, Sequence[int], int, bool]], first: str) -> None:
        """Names × months in CHF, split in blocks of ``MONTHS_PER_TABLE`` months; the total column
        closes the last block. ``rows``: (name, cents per month, total, bold)."""
        months = self.summary.months
        starts = range(0, max(len(months), 1), MONTHS_PER_TABLE)
        for start in starts:
            block = months[start : start + MONTHS_PER_TABLE]
            last = start == starts[-1]
            columns = len(block) + (1 if last else 0)
            other = (self.epw - NAME_WIDTH) / max(columns, 1)
            with self.table(
                col_widths=(NAME_WIDTH, *([other] * columns)),
                width=NAME_WIDTH + other * columns,
                align="LEFT",
                text_align=("LEFT", *(["RIGHT"] * columns)),
                headings_style=HEADING,
                line_height=4.5,
                padding=(0.6, 1),
            ) as table:
                header = table.row()
                header.cell(first)
                for month in block:
                    header.cell(month.label)
                if last:
                    header.cell("Total")
                for name, cents, total, bold in rows:
                    row = table.row(style=BOLD if bold else None)
                    row.cell(name)
                    for value in cents[start : start + MONTHS_PER_TABLE]:
                        row.cell(chf_display(value))
                    if last:
                        row.cell(chf_display(total))
            self.ln(3)


def _svg_size(svg: str) -> tuple[float, float]:
    head = svg[: svg.index(">")]
    width = float(head.split('width="', 1)[1].split('"', 1)[0])
    height = float(head.split('height="', 1)[1].split('"', 1)[0])
    return width, height


def _overview(pdf: _Document, summary: Summary) -> None:
    pdf.heading("Summary of payments", 16)
    test = "test configs included" if summary.include_test else "test configs left out"
    pdf.multi_cell(
        0, 4.5,
        f"Period: {summary.period}. Paid transactions (status 9), by day of creation; {test}.\n"
        f"Total paid: CHF {chf_display(summary.total)}"
        + (f"; refunded: CHF {chf_display(summary.refunded)}; net: CHF {chf_display(summary.net)}"
           if summary.refunded else ""),
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.ln(2)
    pdf.chart(overview_chart(summary))
    rows = [(group.label, group.months, group.total, False) for group in summary.groups]
    rows.append(("Total", summary.month_totals, summary.total, True))
    if summary.refunded:
        net = tuple(a - b for a, b in zip(summary.month_totals, summary.month_refunded, strict=True))
        rows.append(("Refunded", summary.month_refunded, summary.refunded, False))
        rows.append(("Net", net, summary.net, True))
    pdf.month_table(rows, "Group")


def _group(pdf: _Document, summary: Summary, group: GroupSummary) -> None:
    pdf.add_page()
    pdf.heading(f"Group {group.label}: CHF {chf_display(group.total)}")
    rows = [(line.name + (" (test)" if line.test_mode else ""), line.months, line.total, False)
            for line in group.configs]  # fmt: skip
    rows.append((f"Total {group.label}", group.months, group.total, True))
    pdf.month_table(rows, "Config")
    pdf.chart(group_chart(summary, group))


def _transactions(pdf: _Document, title: str, entries: list[PaidTransaction], grouped: bool) -> None:
    """One list of paid transactions; a list per group needs no group column."""
    pdf.add_page()
    total = sum(entry.amount for entry in entries)
    pdf.heading(f"Paid transactions: {title} ({len(entries)}, CHF {chf_display(total)})")
    created = f"Created ({pdf.summary.period.tz.key})"
    names = (
        (created, "Config", "Reference", "CHF")
        if grouped
        else (created, "Group", "Config", "Reference", "CHF")
    )
    widths = (32, 75, 140, 26) if grouped else (32, 55, 60, 100, 26)
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *(["LEFT"] * (len(names) - 2)), "RIGHT"),
        headings_style=HEADING,
        line_height=4.5,
        padding=(0.6, 1),
    ) as table:
        header = table.row()
        for name in names:
            header.cell(name)
        for entry in entries:
            row = table.row()
            row.cell(entry.created.strftime("%Y-%m-%d %H:%M"))
            if not grouped:
                row.cell(entry.group)
            row.cell(entry.config_name)
            row.cell(entry.reference)
            row.cell(chf_display(entry.amount))
        row = table.row(style=BOLD)
        row.cell("Total", colspan=len(names) - 1)
        row.cell(chf_display(total))


def _quiet_font_subsetting() -> None:
    """fontTools logs each table it subsets at INFO (some 75 lines a PDF), which says nothing to an
    operator; unless the ini sets the ``fontTools`` logger's level itself, only its warnings show."""
    fonttools = logging.getLogger("fontTools")
    if fonttools.level == logging.NOTSET:
        fonttools.setLevel(logging.WARNING)


def render_pdf(summary: Summary) -> bytes:
    """The whole report: overview (chart, groups × months), one page per group, then the
    transactions if the summary lists them."""
    _quiet_font_subsetting()
    pdf = _Document(summary)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FAMILY, size=8)
    _overview(pdf, summary)
    for group in summary.groups:
        _group(pdf, summary, group)
    for title, entries in summary.transactions.items():
        _transactions(pdf, title, entries, grouped=summary.transactions_mode == "grouped")
    return bytes(pdf.output())
