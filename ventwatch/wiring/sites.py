"""Which sites of one process can run together, and which share a broker connection: read
by every role (`run`, `ingest`, `serve`, `monitor`) before it starts, so this module stays
light (no dashboard, no analysis).

Sites that name one broker session (the same broker and `broker.client_id`) share one
connection: one subscription set, one spool and one writer, so they must name one store and
one spool folder too. The session's identity comes from the site files, never from which
files happen to be in the folder: a client id that changed when a site was added would start
an empty session and lose what the broker queued for the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ventwatch.config import SiteConfig, sensors_of_two_sites, site_slug
from ventwatch.settings import Settings
from ventwatch.store import StoreURLError, duckdb_file

Session = tuple[str, int, str]  # broker host, port and client id


def session(settings: Settings) -> Session:
    return (settings.broker.host, settings.broker.port, settings.client_id)


def connections(settings: Sequence[Settings]) -> list[list[int]]:
    """The sites (their indexes, in order) of each broker connection: those naming one
    session share it."""
    shared: dict[Session, list[int]] = {}
    for i, each in enumerate(settings):
        shared.setdefault(session(each), []).append(i)
    return list(shared.values())


def several_sites_problems(sites: Sequence[tuple[Path, Settings, SiteConfig]]) -> list[str]:
    """What stops these sites running side by side in one process, each naming its files:
    one state database for all (one login for every site); no store file, spool or
    dashboard address used by two, except a store and spool of sites sharing a broker
    session, which they must then share; and no sensor listed by two sites that their topics
    do not tell apart (`sensors_of_two_sites`)."""
    problems = []

    def clash(
        what: str, key: Callable[[Settings, SiteConfig], object], shared: bool = False
    ) -> None:
        """Two sites with the same `key`; with `shared`, unless they share a session."""
        seen: dict[object, tuple[Path, Session]] = {}
        for path, settings, site in sites:
            value = key(settings, site)
            if value is None:  # nothing to share
                continue
            if value in seen and not (shared and seen[value][1] == session(settings)):
                problems.append(f"{seen[value][0]} and {path} have the same {what}")
            seen.setdefault(value, (path, session(settings)))

    accounts = {
        where.resolve() if isinstance(where, Path) else where
        for where in (settings.state_db for _, settings, _ in sites)
    }
    if len(accounts) > 1:
        problems.append(
            "the sites name different accounts files (state databases: "
            + ", ".join(sorted(str(a) for a in accounts))
            + "): one login serves every site, so give them one (state.database or "
            "VENTWATCH_STATE_DB)"
        )
    clash("site name as a URL", lambda _, site: site_slug(site.site.name))
    clash("embedded store file (set store.url in each file, not VENTWATCH_STORE_URL)", _store_file)
    clash(
        "spool folder but not the same broker session (store.spool, or VENTWATCH_SPOOL_DIR)",
        lambda s, _: s.spool_dir.resolve(),
        shared=True,
    )
    first: dict[Session, tuple[Path, Settings]] = {}
    for path, settings, _ in sites:
        path0, settings0 = first.setdefault(session(settings), (path, settings))
        if path0 == path:
            continue
        apart = [
            what
            for what, differ in (
                ("store (store.url)", settings.store_url != settings0.store_url),
                (
                    "spool folder (store.spool)",
                    settings.spool_dir.resolve() != settings0.spool_dir.resolve(),
                ),
            )
            if differ
        ]
        if apart:
            problems.append(
                f"{path0} and {path} share a broker session (broker.client_id "
                f"{settings.client_id!r}), so one connection and one writer, but not the "
                f"{' or the '.join(apart)}: give them the same, or each its own client_id"
            )
    problems.extend(sensors_of_two_sites([(path, site) for path, _, site in sites]))
    return problems


def _store_file(settings: Settings, _: SiteConfig) -> Path | None:
    """An embedded store's file, which one site's process holds (and whose readings are
    keyed by sensor and time alone); None for a server's store, which any number of sites
    may share, down to one database: every reading is tagged with its site, and each site's
    store reads its own (`open_store`)."""
    try:
        path = duckdb_file(settings.store_url, settings.store_base)
    except StoreURLError:
        return None  # opening it says what is wrong, for this site's file
    return None if path is None else path.resolve()
