"""A room's school days as small SVG line charts of CO2 against the profile's bands, drawn
here rather than by a chart library: the HTML report must make no external request (no
script, no CDN), and the PDF renderer draws inline SVG but runs no JavaScript.

Readable in black and white: the bands differ in grey level as well as in tint, the highest
is hatched, the band limits are labelled dashed lines, and the occupied minutes (those that
count) are a solid bar under each day, broken where a break is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from markupsafe import Markup, escape

from ventwatch.analysis.profiles import Statuses
from ventwatch.reports.model import BandNote, RoomDay

DAYS_PER_ROW: Final = 5
WIDTH: Final = 700.0
PANEL_GAP: Final = 10.0
LEFT: Final = 34.0  # room for the ppm labels
TOP: Final = 14.0  # the day's title
PLOT_HEIGHT: Final = 78.0
BOTTOM: Final = 22.0  # occupied bar, hour ticks and labels
ROW_HEIGHT: Final = TOP + PLOT_HEIGHT + BOTTOM
HATCH_SPACING: Final = 6.0  # between the highest band's diagonal lines
FLOOR_PPM: Final = 400.0  # about outdoor air: the chart starts there unless data go lower
# Band fills, lowest band first: white-ish, a light grey-amber for any band between, and a
# darker red-grey for the highest, which is also hatched. Their greys differ, so a
# black-and-white copy still tells them apart.
TINTS: Final = ("#f4faf5", "#fbe3a6", "#eeb4ae")


def _scale_top(days: Sequence[RoomDay], bands: Sequence[BandNote]) -> float:
    """The chart's top: above the highest band limit, and above the data, in 500 ppm steps."""
    limits = [b.below_ppm for b in bands if b.below_ppm is not None]
    peak = max((v for d in days for v in d.chart.co2_ppm if v is not None), default=FLOOR_PPM)
    return float(math.ceil(max(max(limits, default=FLOOR_PPM) * 1.2, peak * 1.05) / 500) * 500)


def _floor(days: Sequence[RoomDay]) -> float:
    low = min((v for d in days for v in d.chart.co2_ppm if v is not None), default=FLOOR_PPM)
    return min(FLOOR_PPM, math.floor(low / 100) * 100)


def _rect(x: float, y: float, w: float, h: float) -> str:
    return f"M{x:.1f} {y:.1f}h{w:.1f}v{h:.1f}h{-w:.1f}z"


def _hatch(x: float, y: float, w: float, h: float) -> str:
    """Diagonal lines across a rectangle, as path segments: the lines x + y = c for every
    multiple c of `HATCH_SPACING`, so neighbouring panels' hatching lines up. Drawn as lines
    rather than an SVG <pattern>, which Chromium's PDF printer writes out per use: with one
    per panel, that was a third of a 60-room report's printing time and two thirds of its
    size."""
    out = []
    right, bottom = x + w, y + h
    c = math.ceil((x + y) / HATCH_SPACING) * HATCH_SPACING
    while c <= right + bottom:
        # From where the line enters at the bottom or left edge to where it leaves at the
        # top or right edge.
        y_start, y_end = min(bottom, c - x), max(y, c - right)
        if y_start > y_end:
            out.append(f"M{c - y_start:.1f} {y_start:.1f}L{c - y_end:.1f} {y_end:.1f}")
        c += HATCH_SPACING
    return "".join(out)


def room_chart(days: Sequence[RoomDay], bands: Sequence[BandNote], words: Statuses) -> Markup:
    """One SVG with a panel per school day, `DAYS_PER_ROW` to a row, each titled with its
    day's status in the profile's words (`words`).

    Each kind of mark (a band's fill, its hatching, the limits, the CO2 line, the occupied
    bars) is one path for the whole chart, not an element per panel or per step: renderers
    pay per element, and a 60-room report has 300 panels."""
    if not days:
        return Markup("")
    rows = math.ceil(len(days) / DAYS_PER_ROW)
    height = rows * ROW_HEIGHT
    panel_w = (WIDTH - LEFT - PANEL_GAP * (DAYS_PER_ROW - 1)) / DAYS_PER_ROW
    top_ppm, floor_ppm = _scale_top(days, bands), _floor(days)
    limits = [
        b.below_ppm for b in bands if b.below_ppm is not None and floor_ppm < b.below_ppm < top_ppm
    ]

    def y(ppm: float) -> float:
        return PLOT_HEIGHT * (1 - (min(ppm, top_ppm) - floor_ppm) / (top_ppm - floor_ppm))

    fills: list[list[str]] = [[] for _ in bands]
    hatching: list[str] = []
    frames: list[str] = []
    dashes: list[str] = []
    line: list[str] = []
    bars: list[str] = []
    ticks: list[str] = []
    texts: list[str] = []
    for n, day in enumerate(days):
        row, col = divmod(n, DAYS_PER_ROW)
        x0 = LEFT + col * (panel_w + PANEL_GAP)
        y0 = row * ROW_HEIGHT + TOP
        chart = day.chart
        steps = max(len(chart.co2_ppm), 1)
        dx = panel_w / steps
        for i, band in enumerate(bands):
            low = band.from_ppm if band.from_ppm is not None else floor_ppm
            high = band.below_ppm if band.below_ppm is not None else top_ppm
            if high > floor_ppm and low < top_ppm:
                top, bottom = y(high), y(max(low, floor_ppm))
                fills[i].append(_rect(x0, y0 + top, panel_w, bottom - top))
                if i == len(bands) - 1:
                    hatching.append(_hatch(x0, y0 + top, panel_w, bottom - top))
        dashes.extend(f"M{x0:.1f} {y0 + y(ppm):.1f}h{panel_w:.1f}" for ppm in limits)
        frames.append(_rect(x0, y0, panel_w, PLOT_HEIGHT))
        # The CO2 line, broken where there is no reading; a lone step is a short tick.
        pen_down = False
        for i, value in enumerate(chart.co2_ppm):
            if value is None:
                pen_down = False
                continue
            x, yy = x0 + (i + 0.5) * dx, y0 + y(value)
            lone = not pen_down and (i + 1 >= len(chart.co2_ppm) or chart.co2_ppm[i + 1] is None)
            line.append(
                f"M{x - dx / 2:.1f} {yy:.1f}H{x + dx / 2:.1f}"
                if lone
                else f"{'L' if pen_down else 'M'}{x:.1f} {yy:.1f}"
            )
            pen_down = True
        # The occupied minutes (those that count) as bars under the plot, one per run.
        i = 0
        while i < len(chart.occupied):
            if not chart.occupied[i]:
                i += 1
                continue
            j = i
            while j < len(chart.occupied) and chart.occupied[j]:
                j += 1
            bars.append(_rect(x0 + i * dx, y0 + PLOT_HEIGHT + 2, (j - i) * dx, 3))
            i = j
        # Whole hours: a tick each. Labels: the panel's first and last time (leaning inwards,
        # clear of the next panel's) and every third hour between.
        for i in range(steps + 1):
            local = chart.start + timedelta(minutes=i * chart.step_minutes)
            x = x0 + i * dx
            if local.minute == 0:
                ticks.append(f"M{x:.1f} {y0 + PLOT_HEIGHT:.1f}v7")
            near_end = min(i, steps - i) * chart.step_minutes < 60
            if i in (0, steps) or (local.minute == 0 and local.hour % 3 == 0 and not near_end):
                anchor = "start" if i == 0 else "end" if i == steps else "middle"
                texts.append(
                    f'<text x="{x:.1f}" y="{y0 + PLOT_HEIGHT + 14:.1f}" font-size="7" '
                    f'text-anchor="{anchor}">{local:%H:%M}</text>'
                )
        look = words.of(day.co2.status)
        texts.append(
            f'<text x="{x0:.1f}" y="{y0 - 4:.1f}" font-size="8"><tspan font-weight="bold">'
            f"{day.day:%a %d %b}</tspan> {escape(look.symbol)} {escape(look.word)}</text>"
        )
        if col == 0:  # the band limits' figures, left of each row
            texts.extend(
                f'<text x="{LEFT - 3:g}" y="{y0 + y(ppm) + 2.5:.1f}" font-size="7" '
                f'text-anchor="end">{ppm:g}</text>'
                for ppm in [*limits, top_ppm, floor_ppm]
            )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {height:g}" '
        f'width="100%" role="img" class="daychart" font-family="DejaVu Sans, sans-serif">',
    ]
    for i, paths in enumerate(fills):
        tint = TINTS[0] if i == 0 else TINTS[2] if i == len(bands) - 1 else TINTS[1]
        parts.append(f'<path d="{"".join(paths)}" fill="{tint}"/>')
    parts.append(f'<path d="{"".join(hatching)}" stroke="#444" stroke-width="0.7"/>')
    parts.append(
        f'<path d="{"".join(dashes)}" stroke="#333" stroke-width="0.6" stroke-dasharray="3 2"/>'
        f'<path d="{"".join(frames)}" fill="none" stroke="#333" stroke-width="0.6"/>'
        f'<path d="{"".join(line)}" fill="none" stroke="#000" stroke-width="1.3" '
        'stroke-linejoin="round"/>'
        f'<path d="{"".join(bars)}" fill="#333"/>'
        f'<path d="{"".join(ticks)}" stroke="#333" stroke-width="0.5"/>'
    )
    parts.extend(texts)
    parts.append("</svg>")
    # Every text drawn is escaped above (the status) or made here from numbers and dates.
    return Markup("".join(parts))  # noqa: S704
