"""ventwatch: ventilation monitoring for schools and colleges.

The modules of this folder are the core, what every stage shares: the site configuration, the
`Reading` type, the store interface, the clock and the state files (accounts, assignments, the
room register). The stages (`ventwatch.ingest`, `ventwatch.analysis`, `ventwatch.notify`,
`ventwatch.alerts`, `ventwatch.reports`, `ventwatch.dashboard`) live in their own top-level
folders. Two packages here sit above every stage: `wiring` (the service that runs them, the
demo's broker and mail) and `cli` (the `ventwatch` command). Imports go one way only, core <-
ingest <- analysis <- notify <- alerts <- reports <- dashboard <- wiring <- cli
(tests/test_import_order.py).
"""

__version__ = "0.1.0"
