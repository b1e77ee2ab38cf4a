"""Accessible charts drawn on the server as inline SVG (no chart JavaScript).

Every chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>``
(``aria-labelledby``), with axis labels and a legend in words. Colours are USWDS tokens with at
least 3:1 contrast against white (WCAG 1.4.11); the second series also differs by pattern
(hatched bars, dashed line, square markers), so colour is never the only difference. The page
shows the same numbers in a table beside each chart. A chart with nothing to show says so.
Only presentation attributes are used (no ``style``), so the Content-Security-Policy holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# USWDS blue-60v (6.7:1 on white) and orange-60v (4.6:1 on white).
SERIES_COLOURS = ("#005ea2", "#c05600")
TEXT = "#1b1b1b"  # USWDS ink
AXIS = "#565c65"  # base-dark, 6.7:1
GRID = "#dfe1e2"  # decorative gridlines only
BACKGROUND = "#ffffff"
FONT = "Source Sans Pro Web, Helvetica Neue, Helvetica, Roboto, Arial, sans-serif"
EMPTY_TEXT = "No cases"

WIDTH = 640


@dataclass(frozen=True)
class Series:
    """One named row of values, one per label; None for a value withheld (no bar, the word
    "withheld" in its place)."""

    name: str
    values: Sequence[float | None]


WITHHELD = "withheld"


def _shown(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def nice_ticks(maximum: float, target: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (steps of 1, 2 or 5 × 10^k)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step < 1 and float(maximum).is_integer():
        step = 1
    top = math.ceil(maximum / step) * step
    count = round(top / step)
    return [round(i * step, 10) for i in range(count + 1)]


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _is_empty(labels: Sequence[str], series: Sequence[Series]) -> bool:
    return not labels or not any(v is None or v for s in series for v in s.values)


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-family="{FONT}" font-size="14" fill="{TEXT}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="{BACKGROUND}"/>',
    ]


def _text(content: str, **attributes: object) -> str:
    """An SVG ``<text>`` holding ``content`` (already escaped), its attributes in the order
    given (``text_anchor`` is written ``text-anchor``)."""
    written = " ".join(f'{name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f"<text {written}>{content}</text>"


def _axis_title(words: str, left: float, right: float, height: int) -> str:
    """The bold title under the x axis, centred between ``left`` and ``right``."""
    return _text(
        escape(words),
        x=f"{(left + right) / 2:.1f}",
        y=height - 8,
        text_anchor="middle",
        font_weight=700,
    )


def _empty(chart_id: str, title: str, description: str, empty_text: str) -> Markup:
    height = 160
    parts = _open(chart_id, title, f"{description} {empty_text}.".strip(), height)
    parts.append(
        f'<rect x="1" y="1" width="{WIDTH - 2}" height="{height - 2}" fill="none" '
        f'stroke="{AXIS}" stroke-dasharray="4 4"/>'
    )
    parts.append(
        _text(
            escape(empty_text),
            x=WIDTH / 2,
            y=height / 2 + 6,
            text_anchor="middle",
            font_size=18,
            font_weight=700,
        )
    )
    parts.append("</svg>")
    # Every text piece is escaped above.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def _defs(chart_id: str) -> str:
    colour = SERIES_COLOURS[1]
    return (
        f'<defs><pattern id="{escape(chart_id)}-hatch" width="6" height="6" '
        f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{BACKGROUND}"/>'
        f'<rect width="3" height="6" fill="{colour}"/></pattern></defs>'
    )


def _fill(chart_id: str, index: int) -> str:
    if index % 2 == 1:
        return f"url(#{escape(chart_id)}-hatch)"
    return SERIES_COLOURS[0]


def _legend(chart_id: str, series: Sequence[Series], y: int, line: bool) -> str:
    parts = []
    x = 56
    for i, s in enumerate(series):
        colour = SERIES_COLOURS[i % 2]
        if line:
            dash = ' stroke-dasharray="6 4"' if i % 2 else ""
            parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" '
                f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
            parts.append(_marker(i, x + 12, y - 4))
            x += 30
        else:
            parts.append(
                f'<rect x="{x}" y="{y - 11}" width="14" height="14" '
                f'fill="{_fill(chart_id, i)}" stroke="{colour}" stroke-width="1.5"/>'
            )
            x += 20
        parts.append(_text(escape(s.name), x=x, y=y))
        x += 16 + int(7.2 * len(s.name))
    return "".join(parts)


def _marker(index: int, cx: float, cy: float) -> str:
    colour = SERIES_COLOURS[index % 2]
    if index % 2:
        return (
            f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" '
            f'fill="{BACKGROUND}" stroke="{colour}" stroke-width="2"/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>'


def _label_lines(label: str, width: float) -> list[str]:
    """Split an x-axis label into at most two lines that fit roughly in ``width``."""
    if len(label) * 6.5 <= width or " " not in label:
        return [label]
    words = label.split(" ")
    splits = [(" ".join(words[:cut]), " ".join(words[cut:])) for cut in range(1, len(words))]
    first, second = min(splits, key=lambda pair: max(len(pair[0]), len(pair[1])))
    return [first, second]


def _y_axis(ticks: list[float], frame: _Frame, y_label: str) -> list[str]:
    top, bottom, left, right = frame.top, frame.bottom, frame.left, frame.right
    parts = []
    span = ticks[-1] or 1
    for t in ticks:
        y = bottom - (bottom - top) * t / span
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(_num(t), x=left - 6, y=f"{y + 4:.1f}", text_anchor="end"))
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{AXIS}"/>')
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{AXIS}"/>')
    mid = (top + bottom) / 2
    parts.append(
        _text(
            escape(y_label),
            x=14,
            y=f"{mid:.1f}",
            text_anchor="middle",
            transform=f"rotate(-90 14 {mid:.1f})",
        )
    )
    return parts


def _x_labels(labels: Sequence[str], frame: _Frame, x_label: str, height: int) -> list[str]:
    left, right, bottom = frame.left, frame.right, frame.bottom
    parts = []
    for i, label in enumerate(labels):
        x = frame.centre(i)
        lines = _label_lines(label, frame.slot)
        size = "11" if len(labels) > 8 else "13"
        tspans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if j == 0 else 13}">{escape(line)}</tspan>'
            for j, line in enumerate(lines)
        )
        parts.append(_text(tspans, y=bottom + 16, text_anchor="middle", font_size=size))
    parts.append(_axis_title(x_label, left, right, height))
    return parts


def _bars(chart_id: str, series: Sequence[Series], frame: _Frame) -> list[str]:
    """Grouped bars (hatched for the second series); a withheld value is the word, no bar."""
    parts = []
    group = frame.slot
    bar = group * 0.7 / len(series)
    for i in range(frame.n):
        for k, s in enumerate(series):
            value = s.values[i]
            x = frame.left + group * i + group * 0.15 + bar * k
            if value is None:
                x_at, y_at = f"{x + bar / 2:.1f}", f"{frame.bottom - 4:.1f}"
                parts.append(
                    _text(
                        WITHHELD,
                        x=x_at,
                        y=y_at,
                        text_anchor="end",
                        font_size=11,
                        transform=f"rotate(-90 {x_at} {y_at})",
                    )
                )
                continue
            h = frame.height_of(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{frame.bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{_fill(chart_id, k)}" '
                f'stroke="{SERIES_COLOURS[k % 2]}" stroke-width="1.5"/>'
            )
            if bar >= 22:
                parts.append(
                    _text(
                        _num(value),
                        x=f"{x + bar / 2:.1f}",
                        y=f"{frame.bottom - h - 4:.1f}",
                        text_anchor="middle",
                        font_size=11,
                    )
                )
    return parts


def _lines(_chart_id: str, series: Sequence[Series], frame: _Frame) -> list[str]:
    """A line with markers per series (solid with circles, dashed with squares)."""
    parts = []
    for k, s in enumerate(series):
        points = [(frame.centre(i), frame.y(v or 0)) for i, v in enumerate(s.values)]
        dash = ' stroke-dasharray="6 4"' if k % 2 else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{SERIES_COLOURS[k % 2]}" '
            f'stroke-width="2.5"{dash}/>'
        )
        parts.extend(_marker(k, x, y) for x, y in points)
    return parts


@dataclass(frozen=True)
class _Frame:
    """The plotting area of a chart with a vertical value axis."""

    n: int  # labels along the x axis
    top_value: float
    left: int = 64
    right: int = WIDTH - 16
    top: int = 44
    bottom: int = 320 - 70

    @property
    def slot(self) -> float:
        """The width each label (a group of bars, a point of each line) gets."""
        return (self.right - self.left) / self.n

    def centre(self, index: int) -> float:
        """The x of the middle of label ``index``'s slot."""
        return self.left + self.slot * (index + 0.5)

    def height_of(self, value: float) -> float:
        return (self.bottom - self.top) * value / self.top_value

    def y(self, value: float) -> float:
        return self.bottom - self.height_of(value)


@dataclass(frozen=True)
class _VerticalChart:
    """The one builder of charts over labels with a value axis: legend, axes, the marks that
    ``draw`` makes, the labels (or the words of ``empty_text`` when there is nothing)."""

    draw: Callable[[str, Sequence[Series], _Frame], list[str]]

    def __call__(
        self,
        chart_id: str,
        title: str,
        description: str,
        labels: Sequence[str],
        series: Sequence[Series],
        *,
        x_label: str,
        y_label: str,
        empty_text: str = EMPTY_TEXT,
    ) -> Markup:
        if _is_empty(labels, series):
            return _empty(chart_id, title, description, empty_text)
        height = 320
        ticks = nice_ticks(max(_shown([v for s in series for v in s.values]), default=0))
        frame = _Frame(len(labels), ticks[-1])
        parts = _open(chart_id, title, description, height)
        if self.draw is _bars:
            parts.append(_defs(chart_id))
        parts.append(_legend(chart_id, series, 22, line=self.draw is _lines))
        parts += _y_axis(ticks, frame, y_label)
        parts += self.draw(chart_id, series, frame)
        parts += _x_labels(labels, frame, x_label, height)
        parts.append("</svg>")
        # Every text piece is escaped above.
        return Markup("".join(parts))  # noqa: S704  # nosec B704


# Vertical bars, grouped when there are two series (this period and the previous one).
bar_chart = _VerticalChart(_bars)
# Lines with markers (solid with circles, dashed with squares) over the labels.
line_chart = _VerticalChart(_lines)


def hbar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    x_label: str,
    y_label: str,
    empty_text: str = EMPTY_TEXT,
) -> Markup:
    """Horizontal bars, one series, for long category names; each bar shows its value (or
    "withheld" and no bar)."""
    if _is_empty(labels, [Series("", values)]):
        return _empty(chart_id, title, description, empty_text)
    row, left, right, top = 24, 230, WIDTH - 56, 16
    bottom = top + row * len(labels)
    height = bottom + 52
    ticks = nice_ticks(max(_shown(values), default=0))
    parts = _open(chart_id, title, description, height)
    span = ticks[-1]
    for t in ticks:
        x = left + (right - left) * t / span
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>')
        parts.append(_text(_num(t), x=f"{x:.1f}", y=bottom + 16, text_anchor="middle"))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + row * i
        w = 0 if value is None else (right - left) * value / span
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            _text(escape(short), x=left - 8, y=f"{y + row / 2 + 4:.1f}", text_anchor="end")
        )
        if value is not None:
            parts.append(
                f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                f'fill="{SERIES_COLOURS[0]}"/>'
            )
        text = WITHHELD if value is None else _num(value)
        parts.append(_text(text, x=f"{left + w + 4:.1f}", y=f"{y + row / 2 + 4:.1f}"))
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{AXIS}"/>')
    parts.append(_axis_title(x_label, left, right, height))
    parts.append(
        _text(escape(y_label), x=8, y=top - 4 if top > 14 else 12, font_weight=700, font_size=11)
    )
    parts.append("</svg>")
    # Every text piece is escaped above.
    return Markup("".join(parts))  # noqa: S704  # nosec B704
