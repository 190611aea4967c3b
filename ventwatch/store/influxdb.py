"""InfluxDB as the store, through its v1 HTTP API only: `/write` (line protocol), `/query`
(InfluxQL) and `/ping`. InfluxDB 1.x serves that API natively; 2.x and 3.x serve it as a
compatibility layer (a DBRP mapping names the bucket, a token authenticates). The official
`influxdb-client` library is not used: it speaks only `/api/v2`, which 1.x lacks (1.8 added a
partial one; 1.6 has none), and its batching writer drops points when a write fails, where
ventwatch must raise so that ingest spools.

URL: `influxdb://[user:pass@]host:port/database[?rp=NAME&token_env=VAR&precision=ms]`,
`influxdbs://` for https. Schema: measurement `reading`; tags `site`, `room`, `sensor`,
`family`; float fields `co2_ppm`, `temperature_c`, `humidity_pct`, `pressure_hpa`,
`battery_pct` (only those a reading has); timestamps at the URL's precision (ms by default).

Semantics follow `DuckDBStore`, with what InfluxDB imposes:

- A point is keyed by series (all four tags) and timestamp; writing it again overwrites it
  (field by field), so a redelivered reading is harmless, but InfluxDB cannot say whether a
  point was new: `write` returns how many points it sent. Inside one batch the first
  reading of a sensor and timestamp wins, as in DuckDB.
- Timestamps are truncated to the precision (DuckDB keeps microseconds).
- Line protocol cannot carry every string in a tag: a name that is empty, contains a control
  character or ends with a backslash is refused (`StoreRejectedError`, nothing of the batch
  is written). Everything else (spaces, commas, `=`, quotes, backslashes inside, non-ASCII)
  goes in escaped and comes back unchanged.
- A value that is not a finite number is left out; a reading with no value left is not
  written (InfluxDB has no point without fields).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from ventwatch.readings import QUANTITIES, Reading, RoomLatest

if TYPE_CHECKING:
    import pandas as pd

from ventwatch.store import (
    FRAME_COLUMNS,
    StoreError,
    StoreRejectedError,
    StoreUnavailableError,
    StoreURLError,
    redact_url,
)

log = logging.getLogger(__name__)

MEASUREMENT = "reading"
TAGS = ("site", "room", "sensor", "family")
# Seconds or milliseconds per timestamp unit, by the URL's `precision`.
PRECISIONS: dict[str, timedelta] = {"s": timedelta(seconds=1), "ms": timedelta(milliseconds=1)}
DEFAULT_PORT = 8086
URL_PARAMS = ("rp", "token_env", "precision")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_MINUTE = 60_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEANS = ("co2_ppm", "temperature_c", "humidity_pct")
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_EXAMPLE = "influxdb://influxdb:8086/ventwatch"


@dataclass(frozen=True)
class InfluxDBConfig:
    """What a store URL says: where the server is, which database, how to authenticate."""

    base_url: str  # http(s)://host:port
    database: str
    rp: str | None = None
    precision: str = "ms"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token_env: str | None = None
    token: str | None = field(default=None, repr=False)


def parse_influxdb_url(url: str, environ: Mapping[str, str] | None = None) -> InfluxDBConfig:
    """Read an `influxdb://` / `influxdbs://` URL; user and password are percent-decoded and
    the token is read from the variable `token_env` names. Raises `StoreURLError`."""
    shown = redact_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("influxdb", "influxdbs"):
        raise StoreURLError(f"{shown!r}: an InfluxDB URL starts influxdb:// (or influxdbs://)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise StoreURLError(f"{shown!r}: the port must be a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise StoreURLError(f"{shown!r}: give the server, e.g. {_EXAMPLE}")
    database = unquote(parts.path.removeprefix("/"))
    if not database:
        raise StoreURLError(f"{shown!r}: give the database after the server, e.g. {_EXAMPLE}")
    if "/" in database:
        raise StoreURLError(
            f"{shown!r}: give one database name after the server, e.g. {_EXAMPLE} "
            "(a retention policy goes in ?rp=NAME)"
        )
    if parts.fragment:
        raise StoreURLError(f"{shown!r}: a store URL has no #fragment")
    params = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(params) - set(URL_PARAMS))
    if unknown:
        raise StoreURLError(
            f"{shown!r}: unknown parameter {', '.join(unknown)} "
            f"(supported: {', '.join(URL_PARAMS)})"
        )
    for name, values in params.items():
        if len(values) > 1:
            raise StoreURLError(f"{shown!r}: give {name} once")
        if not values[0]:
            raise StoreURLError(f"{shown!r}: {name}= needs a value")
    rp = params.get("rp", [None])[0]
    precision = params.get("precision", ["ms"])[0]
    if precision not in PRECISIONS:
        raise StoreURLError(
            f"{shown!r}: unknown precision {precision!r} (supported: {', '.join(PRECISIONS)})"
        )
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and password is None:
        raise StoreURLError(f"{shown!r}: give user:password, not a user alone")
    token_env = params.get("token_env", [None])[0]
    token = None
    if token_env is not None:
        if username is not None:
            raise StoreURLError(f"{shown!r}: give user:pass or token_env, not both")
        token = (os.environ if environ is None else environ).get(token_env)
        if not token:
            raise StoreURLError(
                f"{shown!r}: token_env={token_env} names an environment variable that is "
                f"not set (set {token_env} to the InfluxDB token)"
            )
    netloc = f"[{host}]" if ":" in host else host
    scheme = "https" if parts.scheme == "influxdbs" else "http"
    return InfluxDBConfig(
        base_url=f"{scheme}://{netloc}:{port}",
        database=database,
        rp=rp,
        precision=precision,
        username=username,
        password=password,
        token_env=token_env,
        token=token,
    )


@functools.lru_cache(maxsize=4096)
def tag_problem(value: str) -> str | None:
    """Why line protocol cannot carry `value` as a tag value, or None when it can."""
    if not value:
        return "is empty (InfluxDB drops empty tags)"
    if value.endswith("\\"):
        return "ends with a backslash, which line protocol cannot carry at the end of a tag"
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"contains the control character {char!r}"
    return None


def escape_tag(value: str) -> str:
    """A tag value in line protocol: commas, equals signs and spaces backslash-escaped (a
    backslash before anything else is literal, so backslashes themselves stay as they are)."""
    return value.translate(_TAG_ESCAPES)


def quote_string(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(name: str) -> str:
    """An InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ticks(time: datetime, unit: timedelta) -> int:
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return (time - _EPOCH) // unit


def _ns(time: datetime) -> int:
    return _ticks(time, timedelta(microseconds=1)) * 1000


def _datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _windows(start: int, end: int, step: int) -> Iterator[tuple[int, int]]:
    """[start, end) cut at multiples of `step` (UTC midnights for a day)."""
    while start < end:
        stop = min(end, (start // step + 1) * step)
        yield start, stop
        start = stop


def _columns(series: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """A series' rows as columns, by name."""
    return dict(zip(series["columns"], zip(*series["values"], strict=True), strict=True))


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:500]
    return str(body)[:500]


class InfluxDBStore:
    """A `Store` on an InfluxDB server (v1 HTTP API). Thread-safe (one httpx client).

    Opening never fails on a server that is down (ingest must start and spool): it logs a
    warning, and creates the database (1.x) once the server answers.
    """

    def __init__(
        self,
        config: InfluxDBConfig,
        *,
        timeout: float = 30.0,
        lines_per_request: int = 5000,
        window: timedelta = timedelta(days=1),
        site: str | None = None,
    ) -> None:
        """`site`: reads see that site's readings only (None: every site's)."""
        self.config = config
        self.lines_per_request = lines_per_request
        # Reads are cut into windows of this length (aligned to UTC midnight for a day),
        # one query each, so no response grows without bound.
        self.window = window
        self._unit = PRECISIONS[config.precision]
        headers = {"User-Agent": "ventwatch"}
        if config.token is not None:
            headers["Authorization"] = f"Token {config.token}"
        auth = (config.username, config.password or "") if config.username is not None else None
        self._client = httpx.Client(
            base_url=config.base_url,
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        )
        db = quote_ident(config.database)
        self._from = f"{db}.{quote_ident(config.rp)}.{MEASUREMENT}" if config.rp else MEASUREMENT
        self._answered = False  # has the server answered CREATE DATABASE (or refused it)?
        self._warned = False
        # The condition that keeps reads to one site ("": every site's readings).
        self._site = "" if site is None else f' AND "site" = {quote_string(site)}'
        self._prepare_database()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> InfluxDBStore:
        return cls(parse_influxdb_url(url), **options)

    def __repr__(self) -> str:
        return f"InfluxDBStore({self.config.base_url}/{self.config.database})"

    # -- server ----------------------------------------------------------------------------
    @property
    def _where(self) -> str:
        return f"InfluxDB at {self.config.base_url}"

    def ping(self) -> str:
        """The server's version; raises `StoreUnavailableError` when it does not answer."""
        try:
            response = self._client.get("/ping")
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"{self._where} is not reachable: {exc}") from exc
        if response.status_code not in (200, 204):
            raise self._failure(response, "answer /ping")
        version: str = response.headers.get("X-Influxdb-Version", "unknown")
        return version

    def _prepare_database(self) -> None:
        """CREATE DATABASE: a no-op on 1.x when it exists; refused for a 1.x user without
        admin rights and unsupported on 2.x/3.x, where the database (bucket + DBRP mapping)
        must exist already. Never raises."""
        try:
            response = self._client.post(
                "/query", data={"q": f"CREATE DATABASE {quote_ident(self.config.database)}"}
            )
        except httpx.HTTPError as exc:
            if not self._warned:
                log.warning(
                    "%s is not reachable (%s): reads and writes fail until it is back",
                    self._where,
                    exc,
                )
                self._warned = True
            return
        self._answered = True
        error = _message(response) if response.status_code != 200 else None
        if error is None:
            try:
                results = response.json().get("results") or [{}]
                error = results[0].get("error")
            except (ValueError, AttributeError, TypeError):
                error = f"not an InfluxDB answer: {response.text[:200]!r}"
        if error is None:
            log.debug("%s: database %s ready", self._where, self.config.database)
        elif response.status_code in (401, 403):
            log.warning("%s refused the credentials: %s", self._where, error)
        else:
            log.info(
                "%s: could not create database %s (%s); using it as it is",
                self._where,
                self.config.database,
                error,
            )

    def _failure(self, response: httpx.Response, action: str) -> StoreError:
        status = response.status_code
        message = _message(response)
        if status in (401, 403):
            return StoreUnavailableError(
                f"{self._where} refused the credentials to {action} (HTTP {status}: "
                f"{message}); put user:pass in the store URL (1.x with auth) or name the "
                "token's variable with ?token_env=VAR (2.x/3.x)"
            )
        if status == 404:
            return StoreUnavailableError(
                f"{self._where} has no database {self.config.database!r} (HTTP 404: "
                f"{message}); on 2.x/3.x create the bucket and a DBRP mapping for it"
            )
        if status >= 500 or status in (408, 429):
            return StoreUnavailableError(
                f"{self._where} failed to {action} (HTTP {status}): {message}"
            )
        if action == "write":
            return StoreRejectedError(f"{self._where} refused the readings: {message}")
        return StoreError(f"{self._where} failed to {action} (HTTP {status}): {message}")

    def _result_error(self, error: str) -> StoreError:
        text = f"{self._where}: {error}"
        if "not found" in error or "authoriz" in error or "privilege" in error:
            return StoreUnavailableError(text)
        return StoreError(text)

    # -- writing ---------------------------------------------------------------------------
    def write(self, batch: Sequence[Reading]) -> int:
        """Write the batch in requests of `lines_per_request` points. Idempotent: a point
        written again overwrites itself. Returns how many points were sent (InfluxDB cannot
        tell new from old). Raises `StoreUnavailableError` (server down, timeout, 5xx,
        credentials, no database) or `StoreRejectedError` (the server's message, e.g. a
        field type conflict or a partial write; or a name line protocol cannot carry)."""
        lines = self._lines(batch)
        if not lines:
            return 0
        if not self._answered:
            self._prepare_database()
        for i in range(0, len(lines), self.lines_per_request):
            self._post("\n".join(lines[i : i + self.lines_per_request]).encode())
        return len(lines)

    def _lines(self, batch: Sequence[Reading]) -> list[str]:
        seen: set[tuple[str, str, int]] = set()
        lines: list[str] = []
        for r in batch:
            ticks = _ticks(r.time, self._unit)
            # The first reading of a sensor and timestamp wins, as in DuckDB; of a site's:
            # sites told apart by topic prefix may have sensors of one id, each its own point.
            if (r.site, r.sensor, ticks) in seen:
                continue
            seen.add((r.site, r.sensor, ticks))
            fields = ",".join(
                f"{q}={float(v)!r}"
                for q in QUANTITIES
                if (v := getattr(r, q)) is not None and math.isfinite(v)
            )
            if not fields:
                continue
            tags = []
            for tag in sorted(TAGS):  # InfluxDB sorts them anyway; sorted is cheaper for it
                value = getattr(r, tag)
                problem = tag_problem(value)
                if problem is not None:
                    raise StoreRejectedError(
                        f"{tag} {value!r} {problem}; nothing of this batch was written"
                    )
                tags.append(f"{tag}={escape_tag(value)}")
            lines.append(f"{MEASUREMENT},{','.join(tags)} {fields} {ticks}")
        return lines

    def _post(self, body: bytes) -> None:
        params = {"db": self.config.database, "precision": self.config.precision}
        if self.config.rp:
            params["rp"] = self.config.rp
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        for attempt in (1, 2):
            try:
                response = self._client.post("/write", params=params, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise StoreUnavailableError(
                    f"{self._where} could not take the write: {type(exc).__name__}: {exc}"
                ) from exc
            if response.status_code in (200, 204):
                return
            if response.status_code == 404 and attempt == 1:
                self._prepare_database()  # created since? (1.x, server was down at open)
                continue
            raise self._failure(response, "write")

    # -- reading ---------------------------------------------------------------------------
    def _query(self, statements: list[str]) -> list[list[dict[str, Any]]]:
        """Run statements in one request (chunked, epoch ns): per statement, its series,
        each {"tags": {...}, "columns": [...], "values": [[...], ...]} merged over chunks."""
        if not self._answered:
            self._prepare_database()
        data = {
            "q": ";".join(statements),
            "db": self.config.database,
            "epoch": "ns",
            "chunked": "true",
            "chunk_size": "10000",
        }
        results: dict[int, dict[tuple[object, ...], dict[str, Any]]] = {}
        try:
            with self._client.stream("POST", "/query", data=data) as response:
                if response.status_code != 200:
                    response.read()
                    raise self._failure(response, "query")
                for line in response.iter_lines():
                    if line.strip():
                        self._merge(json.loads(line), results)
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(
                f"{self._where} could not answer the query: {type(exc).__name__}: {exc}"
            ) from exc
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self._where} sent a response that is not JSON: {exc}") from exc
        return [list(results.get(i, {}).values()) for i in range(len(statements))]

    def _merge(
        self, doc: dict[str, Any], results: dict[int, dict[tuple[object, ...], dict[str, Any]]]
    ) -> None:
        if doc.get("error"):
            raise self._result_error(str(doc["error"]))
        for result in doc.get("results", []):
            if result.get("error"):
                raise self._result_error(str(result["error"]))
            found = results.setdefault(int(result.get("statement_id", 0)), {})
            for series in result.get("series", []):
                tags = series.get("tags") or {}
                key = (series.get("name"), *sorted(tags.items()))
                if key in found:
                    found[key]["values"].extend(series.get("values") or [])
                else:
                    found[key] = {
                        "tags": tags,
                        "columns": series["columns"],
                        "values": list(series.get("values") or []),
                    }

    @staticmethod
    def _room_filter(rooms: Sequence[str] | None) -> str:
        if rooms is None:
            return ""
        return " AND (" + " OR ".join(f'"room" = {quote_string(r)}' for r in rooms) + ")"

    def latest(self, since: datetime) -> dict[str, RoomLatest]:
        """One request, one statement per quantity (`last()` per room skips missing
        values): each quantity's newest value, and the room's newest time and sensor."""
        where = f"time >= {_ns(since)}{self._site}"
        statements = [
            f'SELECT last({quote_ident(q)}) AS "value", "sensor" FROM {self._from} '
            f'WHERE {where} GROUP BY "room"'
            for q in QUANTITIES
        ]
        newest: dict[str, tuple[int, str]] = {}
        values: dict[str, dict[str, float]] = {}
        for quantity, series_list in zip(QUANTITIES, self._query(statements), strict=True):
            for series in series_list:
                room = series["tags"].get("room")
                if not room:
                    continue
                col = {c: i for i, c in enumerate(series["columns"])}
                for row in series["values"]:
                    time, value, sensor = row[col["time"]], row[col["value"]], row[col["sensor"]]
                    if value is None:
                        continue
                    values.setdefault(room, {})[quantity] = float(value)
                    if room not in newest or time > newest[room][0]:
                        newest[room] = (int(time), str(sensor))
        return {
            room: RoomLatest(
                room=room,
                time=_datetime(time),
                sensor=sensor,
                co2_ppm=values[room].get("co2_ppm"),
                temperature_c=values[room].get("temperature_c"),
                humidity_pct=values[room].get("humidity_pct"),
            )
            for room, (time, sensor) in newest.items()
        }

    def _day_windows(self, start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
        step = self.window // timedelta(microseconds=1) * 1000
        return _windows(_ns(start), _ns(end), step)

    def range(self, rooms: Sequence[str] | None, start: datetime, end: datetime) -> pd.DataFrame:
        # pandas only where frames are made: an ingest process never reads, and pandas
        # would double its memory.
        import numpy as np
        import pandas as pd

        """Readings with start <= time < end, one query per window, ordered by time then
        sensor; the same columns and dtypes as DuckDBStore.range."""
        names = [*TAGS, *QUANTITIES]
        columns: dict[str, list[Any]] = {name: [] for name in ("time", *names)}
        if rooms is None or rooms:
            select = ", ".join(quote_ident(n) for n in names)
            for a, b in self._day_windows(start, end):
                statement = (
                    f"SELECT {select} FROM {self._from} "
                    f"WHERE time >= {a} AND time < {b}{self._site}{self._room_filter(rooms)}"
                )
                for series in self._query([statement])[0]:
                    if not series["values"]:
                        continue
                    got = _columns(series)
                    count = len(series["values"])
                    for name, column in columns.items():
                        column.extend(got.get(name, (None,) * count))
        frame = pd.DataFrame(
            {
                "time": pd.to_datetime(
                    np.asarray(columns["time"], dtype="int64"), unit="ns", utc=True
                ).as_unit("us"),
                # Python strings, as DuckDB hands them over (an empty column: object).
                **{t: columns[t] or np.array([], dtype=object) for t in TAGS},
                **{q: np.asarray(columns[q], dtype="float64") for q in QUANTITIES},
            },
            columns=list(FRAME_COLUMNS),
        )
        return frame.sort_values(["time", "sensor"], kind="stable", ignore_index=True)

    def minute_means(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """`mean() ... GROUP BY time(1m), room fill(none)`, one query per window; a minute
        with any reading has a row (pressure and battery are averaged too, then dropped),
        as in DuckDB. Returns what DuckDBStore.minute_means returns: room as a Categorical
        (categories: `rooms`, or the rooms with readings in sorted order), minute, means."""
        import numpy as np
        import pandas as pd

        means = ", ".join(f"mean({quote_ident(q)}) AS {quote_ident(q)}" for q in QUANTITIES)
        per_room: dict[str, dict[str, list[Any]]] = {}
        if rooms is None or rooms:
            for a, b in self._day_windows(start, end):
                statement = (
                    f"SELECT {means} FROM {self._from} "
                    f"WHERE time >= {a} AND time < {b}{self._site}{self._room_filter(rooms)} "
                    'GROUP BY time(1m), "room" fill(none)'
                )
                for series in self._query([statement])[0]:
                    room = series["tags"].get("room")
                    if not room or not series["values"]:
                        continue
                    got = _columns(series)
                    into = per_room.setdefault(room, {c: [] for c in ("time", *_MEANS)})
                    for name, column in into.items():
                        column.extend(got.get(name, (None,) * len(series["values"])))
        names = list(rooms) if rooms is not None else sorted(per_room)
        code_of = {name: code for code, name in enumerate(names)}
        codes: list[int] = []
        collected: dict[str, list[Any]] = {c: [] for c in ("time", *_MEANS)}
        for room, data in per_room.items():
            codes.extend([code_of[room]] * len(data["time"]))
            for name, column in collected.items():
                column.extend(data[name])
        minute = np.asarray(collected["time"], dtype="int64") // _NS_PER_MINUTE
        return pd.DataFrame(
            {
                "room": pd.Categorical.from_codes(
                    np.asarray(codes, dtype=np.int64), categories=pd.Index(names)
                ),
                "minute": pd.to_datetime(minute * 60, unit="s", utc=True),
                **{q: np.asarray(collected[q], dtype="float64") for q in _MEANS},
            }
        )

    def reading_counts(
        self, rooms: Sequence[str] | None, start: datetime, end: datetime, every: timedelta
    ) -> dict[tuple[str, datetime], int]:
        """`count() ... GROUP BY time(every), room`: a few hundred numbers where the minute
        means of the same span are thousands of rows (bench/trust.py: about 6 ms against
        50 for a site's 90 minutes)."""
        if rooms is not None and not rooms:
            return {}
        counts = ", ".join(f"count({quote_ident(q)})" for q in ("co2_ppm", "temperature_c",
                                                                "humidity_pct"))  # fmt: skip
        minutes = every // timedelta(minutes=1)
        statement = (
            f"SELECT {counts} FROM {self._from} WHERE time >= {_ns(start)} AND time < {_ns(end)}"
            f'{self._site}{self._room_filter(rooms)} GROUP BY time({minutes}m), "room" fill(none)'
        )
        out: dict[tuple[str, datetime], int] = {}
        for series in self._query([statement])[0]:
            room = series["tags"].get("room")
            for stamp, *values in series["values"]:
                total = sum(v or 0 for v in values)
                if room and total:
                    out[(room, _EPOCH + timedelta(microseconds=stamp // 1000))] = int(total)
        return out

    def has_readings(self, spans: Sequence[tuple[datetime, datetime]]) -> list[bool]:
        """One request: a `LIMIT 1` statement per span."""
        if not spans:
            return []
        statements = [
            f"SELECT * FROM {self._from} "
            f"WHERE time >= {_ns(a)} AND time < {_ns(b)}{self._site} LIMIT 1"
            for a, b in spans
        ]
        return [any(series["values"] for series in found) for found in self._query(statements)]

    def close(self) -> None:
        self._client.close()
