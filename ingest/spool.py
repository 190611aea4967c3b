"""Readings the store could not take yet, kept on disk and replayed in order when it returns.

Why a spool and not a bigger queue: a database outage can last hours, and a crash must not
lose what was already taken from the broker (and acknowledged to it). So readings that cannot
be stored go to append-only segment files, fsync'd once per batch; only then is the MQTT
message acknowledged. When the store is back the segments are written oldest first and
deleted once stored. A crash half-way through a segment replays it whole: the store is
idempotent (same sensor and time is one reading), so that costs nothing but time.

The spool is bounded: past `max_bytes` it refuses more (`SpoolFullError`), the pipeline stops
acknowledging, and the broker's persistent session holds the rest. That is said loudly in the
log and on the dashboard rather than filling the disk.

Segments are created 0600, and the spool's folder 0700 when ventwatch creates it
(`private_files`): they hold readings with their room names.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ventwatch.private_files import make_private_folder, open_private
from ventwatch.readings import Reading

log = logging.getLogger(__name__)

SEGMENT_BYTES = 8 * 1024 * 1024
SUFFIX = ".jsonl"


class SpoolFullError(RuntimeError):
    """The spool has reached its size limit: nothing more can be kept on disk."""


def _encode(reading: Reading) -> str:
    data = asdict(reading)
    data["time"] = reading.time.isoformat()
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


def _decode(line: str) -> Reading:
    data = json.loads(line)
    data["time"] = datetime.fromisoformat(data["time"])
    return Reading(**data)


class Spool:
    def __init__(self, folder: Path, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        make_private_folder(folder)
        self._lock = threading.Lock()
        segments = self._segments()
        self._next = int(segments[-1].stem) + 1 if segments else 1
        self._pending = sum(self._count(s) for s in segments)
        self._bytes = sum(s.stat().st_size for s in segments)
        self._current: Path | None = None
        if self._pending:
            log.warning(
                "spool %s holds %d readings from before: replaying them first",
                folder,
                self._pending,
            )

    # -- what the dashboard shows ---------------------------------------------------------
    @property
    def pending(self) -> int:
        """Readings on disk waiting for the store."""
        return self._pending

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def full(self) -> bool:
        return self._bytes >= self.max_bytes

    # -- writing --------------------------------------------------------------------------
    def append(self, readings: Sequence[Reading]) -> None:
        """Keep `readings` durably (written and fsync'd) or raise; never half-kept silently."""
        if not readings:
            return
        with self._lock:
            if self.full:
                raise SpoolFullError(
                    f"spool {self.folder} is full ({self._bytes} bytes, limit {self.max_bytes})"
                )
            if self._current is None or self._current.stat().st_size >= SEGMENT_BYTES:
                self._current = self.folder / f"{self._next:010d}{SUFFIX}"
                self._next += 1
            data = "".join(_encode(r) + "\n" for r in readings).encode()
            with open(self._current, "ab", opener=open_private) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._pending += len(readings)
            self._bytes += len(data)

    # -- replaying ------------------------------------------------------------------------
    def drain(self, write: Callable[[Sequence[Reading]], object], chunk: int = 5000) -> int:
        """Write the spooled readings to the store, oldest first, deleting each segment once
        it is stored. Raises what `write` raises, leaving the rest for the next attempt."""
        replayed = 0
        with self._lock:
            self._current = None  # new appends start a new segment behind the replayed ones
            segments = self._segments()
        for segment in segments:
            batch: list[Reading] = []
            for reading in self._read(segment):
                batch.append(reading)
                if len(batch) >= chunk:
                    write(batch)
                    batch = []
            if batch:
                write(batch)
            with self._lock:
                count = self._count(segment)
                self._bytes -= segment.stat().st_size
                segment.unlink()
                self._pending -= count
                replayed += count
            log.info("spool: replayed %d readings from %s", count, segment.name)
        return replayed

    def _segments(self) -> list[Path]:
        return sorted(self.folder.glob(f"*{SUFFIX}"))

    @staticmethod
    def _lines(segment: Path) -> Iterator[str]:
        with segment.open(encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    yield line
                else:
                    # A crash in the middle of an append: that batch was never acknowledged
                    # to the broker, which delivers it again.
                    log.warning("spool %s: dropping a torn last line", segment.name)

    def _count(self, segment: Path) -> int:
        return sum(1 for _ in self._lines(segment))

    def _read(self, segment: Path) -> Iterator[Reading]:
        for number, line in enumerate(self._lines(segment), 1):
            try:
                yield _decode(line)
            except (ValueError, TypeError, KeyError) as exc:
                log.error("spool %s:%d unreadable, skipped: %s", segment.name, number, exc)
