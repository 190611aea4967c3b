"""Plotly figures of a room's CO2 and temperature, as plain dicts the page hands to Plotly.js.

Pure: the room's minute series, the schedule and the profile in, a figure out. The figure
carries the guidance itself: the profile's CO2 bands as shaded strips, occupied hours as
shaded columns (only those minutes count), episodes above the profile's thresholds as
markers, so a chart read on its own still says what the guidance says. Times are shown in
the site's time zone, which is what staff compare with their timetable.

Plotly reads hover text as a small HTML language (`<a href>` is a live link, `<br>` a line
break): text people typed (a rep's note on an action) goes in through `plotly_text`, so it
shows as typed and never turns into markup in another viewer's tooltip.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from ventwatch.analysis.co2 import Episode
from ventwatch.analysis.occupancy import Schedule, minute_grid, occupied_mask
from ventwatch.analysis.profiles import Profile
from ventwatch.analysis.series import site_series
from ventwatch.config import SiteConfig
from ventwatch.dashboard.dates import PLOTLY_HOVER, PLOTLY_LOCALE

# Translucent fills over a white plot, drawn under the line: the bands stay readable behind
# the data, and the line (dark) keeps its contrast.
BAND_FILL: Final[dict[str, str]] = {
    "good": "rgba(29, 107, 52, 0.10)",
    "act": "rgba(255, 197, 61, 0.22)",
    "poor": "rgba(179, 38, 30, 0.12)",
}
OCCUPIED_FILL: Final = "rgba(40, 70, 140, 0.08)"
LINE: Final = "#1a1a1a"
TEMPERATURE_LINE: Final = "#8c1d18"
# The temperature labels' strips: cold (L24) darker than below comfort (NEU), above comfort
# warm.
COLD_FILL: Final = "rgba(40, 90, 200, 0.16)"
BELOW_COMFORT_FILL: Final = "rgba(40, 90, 200, 0.06)"
ABOVE_COMFORT_FILL: Final = "rgba(200, 80, 30, 0.10)"


@dataclass(frozen=True, slots=True)
class Series:
    """A room's values on an even time step, with gaps left as NaN so a line breaks where
    the sensor was silent instead of drawing a straight line across the night."""

    step: timedelta
    times: pd.DatetimeIndex  # UTC
    co2_ppm: np.ndarray
    temperature_c: np.ndarray


def step_for(span: timedelta) -> timedelta:
    """One point a minute for a day, coarser for longer ranges: a week at 5 minutes is about
    2000 points, which a phone draws quickly and still shows each lesson."""
    if span <= timedelta(days=2):
        return timedelta(minutes=1)
    if span <= timedelta(days=14):
        return timedelta(minutes=5)
    if span <= timedelta(days=62):
        return timedelta(minutes=30)
    return timedelta(hours=2)


def series(
    minutes: pd.DataFrame,
    site: SiteConfig,
    profile: Profile,
    room: str,
    span: tuple[datetime, datetime],
    until: datetime,
    step: timedelta,
) -> Series:
    """Means over `step` of the room's minute series (`analysis.series`: what every verdict
    is computed on) over `span`; NaN in its gaps and after `until` (now: a reading does not
    stand for minutes still to come). `minutes` come from `series.read_minutes`."""
    start, end = (t.astimezone(UTC) for t in span)
    grid = pd.date_range(start, end, freq=step, inclusive="left")
    upto = max(start, min(end, until))
    held = site_series(minutes, site, profile, start, upto, [room]).rooms[0].values
    per_step = max(1, int(step / timedelta(minutes=1)))

    def means(values: np.ndarray) -> np.ndarray:
        padded = np.full(len(grid) * per_step, np.nan)
        padded[: len(values)] = values[: len(padded)]
        rows = padded.reshape(len(grid), per_step)
        counts = (~np.isnan(rows)).sum(axis=1)
        sums = np.nansum(rows, axis=1)
        mean: np.ndarray = np.divide(sums, counts, out=np.full(len(grid), np.nan), where=counts > 0)
        return mean

    return Series(step, grid, means(held["co2_ppm"]), means(held["temperature_c"]))


def occupied_periods(
    start: datetime, end: datetime, schedule: Schedule
) -> list[tuple[datetime, datetime]]:
    """The occupied stretches between start and end, as (first minute, end) in UTC."""
    grid = minute_grid(start, end)
    mask = occupied_mask(grid, schedule)
    if not mask.any():
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    times = grid.to_pydatetime()
    return [
        (times[s], times[e - 1] + timedelta(minutes=1)) for s, e in zip(starts, ends, strict=True)
    ]


def _local(times: list[datetime] | pd.DatetimeIndex, schedule: Schedule) -> list[str]:
    """ISO local wall-clock times without an offset: Plotly then labels the axis in site time."""
    index = pd.DatetimeIndex(times).tz_convert(schedule.timezone).tz_localize(None)
    return [t.isoformat() for t in index.to_pydatetime()]


def plotly_text(text: str) -> str:
    """`text` as Plotly shows it, character for character: `&`, `<` and `>` as entities,
    which Plotly turns back into text without reading any tag. Quotes stay as they are:
    outside a tag they are plain text, and Plotly knows no `&quot;`."""
    return html.escape(text, quote=False)


def values(array: np.ndarray, digits: int) -> list[float | None]:
    return [None if np.isnan(v) else round(float(v), digits) for v in array]


def _rect(
    x: tuple[object, object], y: tuple[object, object], xref: str, yref: str
) -> dict[str, Any]:
    """A filled rectangle drawn under the data; "paper" spans the whole axis (0 to 1)."""
    return {
        "type": "rect",
        "xref": xref,
        "yref": yref,
        "x0": x[0],
        "x1": x[1],
        "y0": y[0],
        "y1": y[1],
        "line": {"width": 0},
        "layer": "below",
    }


def _strip(low: float, high: float, fill: str, name: str) -> dict[str, Any]:
    """A horizontal band across the whole chart, from `low` to `high` on the y axis."""
    return {**_rect((0, 1), (low, high), "paper", "y"), "fillcolor": fill, "name": name}


def _occupied_shapes(
    periods: list[tuple[datetime, datetime]], schedule: Schedule
) -> list[dict[str, Any]]:
    """A shaded column over each occupied stretch, the full height of the chart."""
    shapes = []
    for start, end in periods:
        x0, x1 = _local([start, end], schedule)
        shapes.append(
            {
                **_rect((x0, x1), (0, 1), "x", "paper"),
                "fillcolor": OCCUPIED_FILL,
                "name": "occupied",
            }
        )
    return shapes


def _layout(
    title: str, y_title: str, y_range: list[float], shapes: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
        "height": 320,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "color": "#1a1a1a"},
        "xaxis": {
            "type": "date",
            "gridcolor": "#e2e2e2",
            "linecolor": "#545454",
            "hoverformat": PLOTLY_HOVER,
        },
        "yaxis": {
            "title": {"text": y_title},
            "range": y_range,
            "gridcolor": "#e2e2e2",
            "linecolor": "#545454",
            "zeroline": False,
        },
        "shapes": shapes,
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "x unified",
    }


def _figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    """A figure with the locale its date axes are labelled in (`dates.PLOTLY_LOCALE`, which
    static/room.js registers with Plotly): "30 Nov 2026", as the rest of the page writes it."""
    return {"data": traces, "layout": layout, "locale": PLOTLY_LOCALE}


def co2_figure(
    data: Series,
    profile: Profile,
    schedule: Schedule,
    periods: list[tuple[datetime, datetime]],
    episodes: Sequence[Episode],
    actions: Sequence[tuple[datetime, str]] = (),
) -> dict[str, Any]:
    """CO2 against the profile's bands, occupied hours shaded, episodes marked at their peaks,
    and the actions recorded on the rep's alerts as dashed lines: did the line move after?
    `actions` are (when, label) with the label as typed: escaped here for Plotly."""
    finite = data.co2_ppm[~np.isnan(data.co2_ppm)]
    edges = [b.below_ppm for b in profile.co2_bands if b.below_ppm is not None]
    top = max([*edges, float(finite.max()) if finite.size else 0.0]) * 1.12
    shapes = []
    low = 0.0
    for band in profile.co2_bands:
        high = band.below_ppm if band.below_ppm is not None else top
        fill = BAND_FILL.get(band.name, "rgba(90, 90, 90, 0.08)")
        shapes.append(_strip(low, high, fill, f"band {band.name}"))
        low = high
    shapes += _occupied_shapes(periods, schedule)
    x = _local(data.times, schedule)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "CO2 (ppm)",
            "x": x,
            "y": values(data.co2_ppm, 0),
            "line": {"color": LINE, "width": 1.6},
            "connectgaps": False,
            "hovertemplate": "%{y:.0f} ppm<extra></extra>",
        }
    ]
    for band in profile.co2_bands:
        if band.below_ppm is not None:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{band.below_ppm:.0f} ppm",
                    "x": [x[0], x[-1]] if x else [],
                    "y": [band.below_ppm, band.below_ppm],
                    "line": {"color": "#545454", "width": 1, "dash": "dot"},
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
    if episodes:
        mid = [e.start + (e.end - e.start) / 2 for e in episodes]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Episodes",
                "x": _local(mid, schedule),
                "y": [round(e.peak_ppm) for e in episodes],
                "marker": {"symbol": "triangle-down", "size": 11, "color": "#b3261e"},
                "text": [
                    f"over {e.threshold_ppm:.0f} ppm for {e.duration_min} min, peak "
                    f"{e.peak_ppm:.0f} ppm"
                    for e in episodes
                ],
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    if actions:
        when = _local([at for at, _ in actions], schedule)
        shapes += [
            {
                "type": "line", "xref": "x", "yref": "paper", "x0": x0, "x1": x0, "y0": 0,
                "y1": 1, "line": {"color": "#1b5e20", "width": 1.5, "dash": "dash"},
                "name": "action",
            }
            for x0 in when
        ]  # fmt: skip
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Actions",
                "x": when,
                "y": [top * 0.96] * len(actions),
                "marker": {"symbol": "diamond", "size": 10, "color": "#1b5e20"},
                "text": [plotly_text(label) for _, label in actions],
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    return _figure(traces, _layout("CO2", "ppm", [0, top], shapes))


def temperature_figure(
    data: Series,
    profile: Profile,
    schedule: Schedule,
    periods: list[tuple[datetime, datetime]],
    severe_effort: bool,
) -> dict[str, Any]:
    """Temperature with each label's strip, apart as every page keeps them: cold (below the
    room's L24 minimum, 13 °C with `severe_effort`), below comfort (under NEU's 18 °C) and
    above comfort (over NEU's 26 °C); occupied hours shaded."""
    t = profile.temperature
    finite = data.temperature_c[~np.isnan(data.temperature_c)]
    cold = t.cold_for(severe_effort).below_c
    comfort_min, comfort_max = t.below_comfort.below_c, t.above_comfort.above_c
    low = min(cold - 4, float(finite.min()) - 1 if finite.size else cold - 4)
    high = max(comfort_max + 2, float(finite.max()) + 1 if finite.size else 0)
    shapes = [
        _strip(low, cold, COLD_FILL, "cold"),
        _strip(cold, comfort_min, BELOW_COMFORT_FILL, "below comfort"),
        _strip(comfort_max, high, ABOVE_COMFORT_FILL, "above comfort"),
        *_occupied_shapes(periods, schedule),
    ]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Temperature (°C)",
            "x": _local(data.times, schedule),
            "y": values(data.temperature_c, 1),
            "line": {"color": TEMPERATURE_LINE, "width": 1.6},
            "connectgaps": False,
            "hovertemplate": "%{y:.1f} °C<extra></extra>",
        }
    ]
    return _figure(traces, _layout("Temperature", "°C", [low, high], shapes))
