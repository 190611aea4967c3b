"""The demo's users: one per role, so whoever tries the demo can see the dashboard as a site
manager, a union rep or a member of staff sees it, not only as the admin who sees everything.

One fresh password for all of them, printed at startup: the demo runs on loopback, but a
dashboard anyone could open would teach the wrong habit.
"""

from __future__ import annotations

from ventwatch.accounts import ALL_SITES, Accounts, Role

# (name, role, the role in words, what signing in as them shows), in the terminal's order.
DEMO_USERS: tuple[tuple[str, Role, str, str], ...] = (
    ("demo", Role.ADMIN, "admin", "everything, including giving sensors a room"),
    ("manager", Role.SITE_MANAGER, "site manager", "rooms, the sensors page, ingest health"),
    ("rep", Role.REP, "union rep", "rooms, alerts, the action log, reports, evidence packs"),
    ("staff", Role.STAFF, "staff", "rooms and reports, read only"),
)


def add_demo_users(accounts: Accounts, password: str) -> None:
    for name, role, _, _ in DEMO_USERS:
        accounts.add_user(name, role, password, [ALL_SITES])


def sign_in_lines(password: str) -> list[str]:
    """How to sign in as each role, in a few plain lines for the terminal (the first starts
    "Sign in:   demo / PASSWORD", which scripts read)."""
    logins = [f"{name} / {password}" for name, _, _, _ in DEMO_USERS]
    width = max(len(login) for login in logins)
    lines = [
        f"{login:<{width}}  {role}: {shows}"
        for login, (_, _, role, shows) in zip(logins, DEMO_USERS, strict=True)
    ]
    return [
        "Sign in:   " + lines[0],
        *("           " + line for line in lines[1:]),
        "Each role sees its own pages: sign out (top right) and in as another.",
    ]
