"""Which monitor process judges which site: leases in the state database.

A trust runs several `ventwatch monitor` processes over the same sites so that alerting
survives a machine and its work is shared. Two of them must never judge the same site (each
would open the same alert and send its messages), and a killed one's sites must be taken
over soon. So each site has a lease, held by one process until it expires; a process renews
its leases every `renew_s` (a third of the lease), and takes its fair share of the sites:
as many as the sites divided by the processes alive (each says so in `monitor_members` at
every renewal). A process holding more than its share gives the rest up, after stopping
them, so a newly started monitor gets work; a killed one's leases run out and the others
take its sites within `lease_s` plus one renewal.

Each step is one transaction holding the state database's write lock from its start
(`exclusive`: SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), so two processes never
both take a site.
Times are wall-clock seconds: leases are about processes, not the school day.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Iterable

from ventwatch.state_database import StateLocation, open_state

_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitor_members (
    holder TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS site_leases (
    site TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

LEASE_S = 30.0


def this_process() -> str:
    """A holder's name: unique among live processes, and telling an operator where it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SiteLeases:
    """The leases of one monitor process (`holder`) in the state database at `path`."""

    def __init__(
        self,
        path: StateLocation,
        holder: str | None = None,
        *,
        lease_s: float = LEASE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._file = open_state(path, _SCHEMA)
        self.holder = holder or this_process()
        self.lease_s = lease_s
        self.renew_s = lease_s / 3
        self._clock = clock

    def claim(self, sites: Iterable[str]) -> tuple[set[str], set[str]]:
        """Renew this process's leases and take free sites, up to its fair share of `sites`.
        Returns (the sites it holds now, the sites it holds beyond its share): the caller
        stops judging the second set, then hands them back with `release`."""
        wanted = sorted(set(sites))
        now = self._clock()
        with self._file.exclusive() as db:
            db.execute(
                "INSERT INTO monitor_members VALUES (?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at",
                (self.holder, now),
            )
            db.execute("DELETE FROM monitor_members WHERE seen_at < ?", (now - self.lease_s,))
            (alive,) = db.execute("SELECT count(*) FROM monitor_members").fetchone()
            share = math.ceil(len(wanted) / max(int(alive), 1))
            leases = {
                site: (holder, expires)
                for site, holder, expires in db.execute(
                    "SELECT site, holder, expires_at FROM site_leases"
                )
            }
            mine = [s for s in wanted if leases.get(s, ("", 0.0))[0] == self.holder]
            free = [s for s in wanted if s not in leases or leases[s][1] <= now]
            taken = [s for s in free if s not in mine][: max(share - len(mine), 0)]
            held = [*mine, *taken]
            for site in held:
                db.execute(
                    "INSERT INTO site_leases VALUES (?, ?, ?) ON CONFLICT (site) DO UPDATE"
                    " SET holder = excluded.holder, expires_at = excluded.expires_at",
                    (site, self.holder, now + self.lease_s),
                )
        return set(held), set(mine[share:])

    def release(self, sites: Iterable[str]) -> None:
        """Hand sites back (their judging stopped): the next claim by anyone may take them."""
        with self._file.transaction() as db:
            db.executemany(
                "DELETE FROM site_leases WHERE site = ? AND holder = ?",
                [(site, self.holder) for site in sites],
            )

    def leave(self) -> None:
        """Stopping: every lease handed back and this process no longer counted."""
        with self._file.transaction() as db:
            db.execute("DELETE FROM site_leases WHERE holder = ?", (self.holder,))
            db.execute("DELETE FROM monitor_members WHERE holder = ?", (self.holder,))

    def holders(self) -> dict[str, str]:
        """Each leased site's holder, expired leases included (for pages and tests)."""
        with self._file.transaction() as db:
            return dict(db.execute("SELECT site, holder FROM site_leases").fetchall())
