"""Files only ventwatch's user may read: the accounts and state SQLite file, the DuckDB store
(and its write-ahead log) and the spool's segments are created 0600, and the folders
ventwatch creates for them 0700, under the usual umask 022; a folder that was there already
keeps its mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ventwatch.accounts import ALL_SITES, Accounts, Role
from ventwatch.alerts.records import AlertRecords
from ventwatch.ingest.spool import Spool
from ventwatch.readings import Reading
from ventwatch.store.duckdb import DuckDBStore

T0 = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """022, as most systems start a service with: files 0644 unless ventwatch says not."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A folder that existed before, readable by everyone (such as /var/lib)."""
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    return folder


def test_the_accounts_and_state_file(shared: Path) -> None:
    path = shared / "ventwatch" / "state" / "accounts.sqlite"
    accounts = Accounts(path)
    accounts.add_user("alice", Role.ADMIN, "correct horse battery", [ALL_SITES])
    AlertRecords(path, "Hillside Academy")  # the alerts' tables, in the same file
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700
    assert mode(shared) == 0o755  # not ventwatch's to change
    assert [p.name for p in path.parent.iterdir()] == ["accounts.sqlite"]  # no journal left


def test_the_duckdb_store_and_its_log(shared: Path) -> None:
    path = shared / "store" / "site.duckdb"
    store = DuckDBStore(path)
    try:
        store.write([Reading(T0, "S", "Room 1", "s-1", "tasmota", co2_ppm=612.0)])
        wal = path.with_name("site.duckdb.wal")
        assert wal.exists()  # the write is in the log until a checkpoint
        assert mode(wal) == 0o600
    finally:
        store.close()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_a_store_file_that_exists_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "site.duckdb"
    DuckDBStore(path).close()
    path.chmod(0o640)  # an admin lets a backup group read it
    store = DuckDBStore(path)
    try:
        store.write([Reading(T0, "S", "Room 1", "s-1", "tasmota", co2_ppm=612.0)])
        assert mode(path.with_name("site.duckdb.wal")) == 0o640  # the log as the file
    finally:
        store.close()
    assert mode(path) == 0o640


def test_the_spool(shared: Path) -> None:
    folder = shared / "spool" / "instance-a"
    spool = Spool(folder)
    spool.append([Reading(T0, "S", "Room 1", "s-1", "tasmota", co2_ppm=612.0)])
    [segment] = folder.iterdir()
    assert mode(segment) == 0o600
    assert mode(folder) == mode(folder.parent) == 0o700
