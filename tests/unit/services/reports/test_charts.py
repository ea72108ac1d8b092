"""The SVG bar charts shared by the admin page and the PDF."""

import xml.etree.ElementTree as ET

from polybanking.services.reports.summary.charts import PALETTE, Series, _nice_step, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[ET.Element]:
    return [rect for rect in ET.fromstring(svg).iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def texts(svg: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(svg).iter(f"{SVG}text")]


def test_stacked_bars_are_proportional_to_the_cents():
    svg = stacked_bar_chart(
        "Paid", ["2026-01", "2026-02"], [Series("Shop", [10000, 5000]), Series("Bar", [0, 5000])]
    )
    drawn = bars(svg)
    assert len(drawn) == 3  # a zero draws nothing
    heights = [float(rect.get("height")) for rect in drawn]
    assert heights[1] == heights[2] == heights[0] / 2  # 50.00 is half of 100.00
    assert drawn[0].get("fill") == drawn[1].get("fill") == PALETTE[0]
    assert drawn[2].get("fill") == PALETTE[1]
    # Bar 2 (Bar, February) sits on top of Shop's February part.
    assert float(drawn[2].get("y")) + heights[2] == float(drawn[1].get("y"))
    assert "Shop, 2026-01: 100.00 CHF" in drawn[0].find(f"{SVG}title").text
    labels = texts(svg)
    assert "2026-01" in labels and "2026-02" in labels and "Shop" in labels and "Bar" in labels
    assert "100.00" in labels  # the y axis reaches the tallest bar


def test_names_are_escaped_not_markup():
    name = 'Evil <script>alert(1)</script> & "co"'
    svg = stacked_bar_chart(name, ["2026-01"], [Series(name, [100])])
    root = ET.fromstring(svg)  # still well-formed
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
    assert "<script>" not in svg
    assert any("<script>" in text for text in texts(svg))  # shown as text
    assert root.get("aria-label") == name


def test_no_payments():
    svg = stacked_bar_chart("Paid", ["2026-01"], [Series("Shop", [0])])
    assert bars(svg) == []
    assert "No payments" in texts(svg)


def test_long_names_are_shortened_in_the_legend():
    svg = stacked_bar_chart("Paid", ["m"], [Series("x" * 100, [1])])
    assert any(text.endswith("…") and len(text) <= 30 for text in texts(svg))


def test_nice_steps():
    assert _nice_step(0) == 1
    assert _nice_step(100) == 20
    assert _nice_step(99999) == 20000
    assert _nice_step(1_000_001) == 500000
