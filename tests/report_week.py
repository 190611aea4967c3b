"""A seeded site for the report tests: week 2026-W47 (and the week before, for the change)
with known answers, one reading a minute, written through `Reading` into a real DuckDB store.

Europe/London in November is GMT, so local time is UTC. Occupied hours 09:00-15:00, no
breaks: 360 minutes a school day, 1800 a week. Each room's figures, worked by hand:

- Lab 1: 600 ppm, 1600 ppm 10:00-10:29 every school day -> red (30 min over 1500); mean
  (1650 x 600 + 150 x 1600) / 1800 = 683.3; 150 of 1800 minutes over 800 and 1500 = 8.33 %.
  The week before: 600 all day -> green, so "worse".
- Room 2: 600 ppm -> green; 15 °C 09:00-09:44 each day, 20 °C after: 225 minutes below
  16 °C. The week before: 1600 ppm 10:00-10:29 -> red, so "better".
- Hall: 900 ppm 09:00-09:29 -> amber (30 min over 800); mean 625.0; no data the week
  before -> not comparable.
- Music <b>&</b> "Drama": readings 09:00-09:59 only, the last standing until 10:08 (the
  profile's 10-minute hold): 345 of 1800 minutes = 19.2 % -> grey.
- =1+1: no readings at all -> grey (and a name a spreadsheet must not take as a formula).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from ventwatch.config import SiteConfig, load_site
from ventwatch.readings import Reading
from ventwatch.reports.model import ReportAction
from ventwatch.store.duckdb import DuckDBStore

SITE_NAME = "Hillside <Academy>"
MUSIC = 'Music <b>&</b> "Drama"'
FORMULA = "=1+1"
ROOMS = ("Lab 1", "Room 2", "Hall", MUSIC, FORMULA)
WEEK = "2026-W47"
MONDAY = date(2026, 11, 16)
SCHOOL_DAYS = [MONDAY + timedelta(days=i) for i in range(5)]
PREVIOUS_DAYS = [d - timedelta(days=7) for d in SCHOOL_DAYS]

SITE_YAML = f"""
site: {{name: "{SITE_NAME}", timezone: Europe/London}}
occupied_hours: {{start: "09:00", end: "15:00"}}
rooms:
  - {{name: Lab 1, building: Science}}
  - {{name: Room 2, building: Main}}
  - {{name: Hall, building: Main}}
  - {{name: '{MUSIC}', building: Arts}}
  - {{name: "{FORMULA}", building: Arts}}
store: {{url: "duckdb:///./store.duckdb"}}
state: {{database: accounts.sqlite}}
"""

PRACTICAL = "Practical steps"
ACTIONS = [
    ReportAction("Lab 1", date(2026, 11, 18), PRACTICAL, "Windows opened", "<b>x</b>", "rep"),
    ReportAction("Lab 1", date(2026, 11, 10), "Evidence", "Evidence gathered", "last week", "rep"),
    ReportAction("Room 2", date(2026, 11, 22), "Monitoring", "CO2 monitor moved", "", "rep"),
]


def _day(room: str, day: date, co2: float, temp: float = 20.0, **special: float) -> list[Reading]:
    """One reading a minute 09:00-14:59; minutes [from_min, to_min) after 09:00 at `ppm`;
    minutes before `cold_min` at `cold_c`; only minutes before `until_min` when given."""
    start = datetime.combine(day, time(9), UTC)
    out = []
    for m in range(int(special.get("until_min", 360))):
        high = special.get("from_min", -1) <= m < special.get("to_min", -1)
        out.append(
            Reading(
                start + timedelta(minutes=m),
                SITE_NAME,
                room,
                f"s-{room}",
                "tasmota",
                co2_ppm=special["ppm"] if high else co2,
                temperature_c=special["cold_c"] if m < special.get("cold_min", 0) else temp,
                humidity_pct=45.0,
            )
        )
    return out


def readings() -> list[Reading]:
    out: list[Reading] = []
    for day in SCHOOL_DAYS:
        out += _day("Lab 1", day, 600.0, from_min=60, to_min=90, ppm=1600.0)
        out += _day("Room 2", day, 600.0, cold_min=45, cold_c=15.0)
        out += _day("Hall", day, 600.0, 19.0, from_min=0, to_min=30, ppm=900.0)
        out += _day(MUSIC, day, 700.0, until_min=60)
    for day in PREVIOUS_DAYS:
        out += _day("Lab 1", day, 600.0)
        out += _day("Room 2", day, 600.0, from_min=60, to_min=90, ppm=1600.0)
        out += _day(MUSIC, day, 700.0, until_min=60)
    return out


def seed(folder: Path) -> tuple[Path, SiteConfig]:
    """The site file and its store (`store.duckdb` beside it), seeded; the store is closed."""
    path = folder / "site.yaml"
    path.write_text(SITE_YAML, encoding="utf-8")
    store = DuckDBStore(folder / "store.duckdb")
    store.write(readings())
    store.close()
    return path, load_site(path)
