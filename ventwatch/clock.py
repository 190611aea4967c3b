"""The wall clock, as the one default every stage injects: where time decides behaviour
(staleness, alert sustain, schedules), tests pass their own clock instead."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
