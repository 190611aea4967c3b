"""ventwatch: ventilation monitoring for schools and colleges.

The core package holds what every stage shares: the site configuration, the `Reading` type,
the store interface and the command line. The stages themselves (`ventwatch.ingest`,
`ventwatch.analysis`, `ventwatch.dashboard`) live in their own top-level folders.
"""

__version__ = "0.1.0"
