"""Server-rendered SVG charts: accessible names, contrast, patterns, empty data, escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from constituent.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str = "#ffffff") -> float:
    la, lb = sorted([luminance(a), luminance(b)], reverse=True)
    return (la + 0.05) / (lb + 0.05)


def sample_charts() -> list[str]:
    labels = ["30 days or less", "31–90 days", "91–180 days", "Over 180 days"]
    return [
        charts.bar_chart(
            "c1",
            "Time to close",
            "Cases by days to close.",
            labels,
            [
                charts.Series("This period", [4, 1, 0, 1]),
                charts.Series("Previous period", [1, 0, 0, 0]),
            ],
            x_label="Days to close",
            y_label="Cases closed",
        ),
        charts.hbar_chart(
            "c2",
            "By category",
            "Cases by category.",
            ["Housing", "Veterans"],
            [3, 12],
            x_label="Cases opened",
            y_label="Category",
        ),
        charts.line_chart(
            "c3",
            "By month",
            "Opened and closed by month.",
            ["Jan 2026", "Feb 2026", "Mar 2026"],
            [charts.Series("Opened", [5, 8, 2]), charts.Series("Closed", [3, 9, 4])],
            x_label="Month",
            y_label="Cases",
        ),
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_charts_are_named_images_with_title_and_description(index):
    svg = sample_charts()[index]
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title.get("id") == title_id and title.text
    assert desc.get("id") == desc_id and desc.text
    assert root.get("viewBox").startswith("0 0 ")


def test_axis_labels_and_legend_are_words():
    bar, hbar, line = (ET.fromstring(s) for s in sample_charts())
    texts = {t.text for t in bar.iter(f"{SVG}text")}
    assert {"Days to close", "Cases closed", "This period", "Previous period"} <= texts
    line_texts = {t.text for t in line.iter(f"{SVG}text")}
    assert {"Month", "Cases", "Opened", "Closed"} <= line_texts
    assert {"Housing", "Veterans", "12", "3"} <= {t.text for t in hbar.iter(f"{SVG}text")}


def test_colours_pass_contrast_against_white():
    for svg in sample_charts():
        colours = set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', svg))
        meaningful = colours - {charts.BACKGROUND, charts.GRID}
        assert meaningful
        for colour in meaningful:
            assert contrast(colour) >= 3.0, colour
    for colour in charts.SERIES_COLOURS:
        assert contrast(colour) >= 4.5  # also fine as text


def test_second_series_differs_by_more_than_colour():
    bar, _, line = sample_charts()
    assert 'fill="url(#c1-hatch)"' in bar and "<pattern" in bar
    assert 'stroke-dasharray="6 4"' in line
    assert "<rect" in line and "<circle" in line  # square and round markers


def test_no_style_attributes_so_the_csp_holds():
    for svg in sample_charts():
        assert "style=" not in svg and "<style" not in svg and "<script" not in svg


def test_bars_are_proportional_to_values():
    root = ET.fromstring(sample_charts()[0])
    heights = [
        float(r.get("height"))
        for r in root.iter(f"{SVG}rect")
        if r.get("stroke") in charts.SERIES_COLOURS and r.get("height") != "14"
    ]
    # 8 bars: this period 4, 1, 0, 1 and previous 1, 0, 0, 0 (interleaved per label)
    assert len(heights) == 8
    assert heights[0] == pytest.approx(4 * heights[1])  # 4 vs 1
    assert heights[2] == pytest.approx(heights[1])  # 1 vs 1 (next label's first bar)


@pytest.mark.parametrize(
    "make",
    [
        lambda: charts.bar_chart(
            "e", "T", "D.", ["a", "b"], [charts.Series("x", [0, 0])], x_label="x", y_label="y"
        ),
        lambda: charts.hbar_chart("e", "T", "D.", [], [], x_label="x", y_label="y"),
        lambda: charts.line_chart(
            "e", "T", "D.", ["Jan"], [charts.Series("x", [0])], x_label="x", y_label="y"
        ),
    ],
)
def test_empty_data_draws_a_chart_that_says_no_cases(make):
    svg = make()
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "No cases" in {t.text for t in root.iter(f"{SVG}text")}
    assert "No cases" in root.find(f"{SVG}desc").text


def test_labels_are_escaped():
    svg = charts.hbar_chart(
        "x",
        "<b>T</b>",
        'D "quoted" & <script>',
        ["<script>alert(1)</script>"],
        [1],
        x_label="x",
        y_label="y",
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed


@pytest.mark.parametrize(
    ("maximum", "expected_top"),
    [
        (0, 1),
        (1, 1),
        (4, 4),
        (7, 8),
        (12, 15),
        (139, 150),
        (1234, 1500),
        (0.4, 0.4),
    ],
)
def test_nice_ticks_cover_the_maximum_with_round_steps(maximum, expected_top):
    ticks = charts.nice_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] >= maximum
    assert ticks[-1] == pytest.approx(expected_top)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1
