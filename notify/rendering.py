"""How every message's HTML is rendered: one Jinja environment per stage's own templates,
with the same two safeguards, so an alert and a weekly report are escaped and checked alike.
"""

from __future__ import annotations

import jinja2


def message_templates(package: str) -> jinja2.Environment:
    """The templates in `package`'s `templates/` folder (`ventwatch.alerts`,
    `ventwatch.reports`). Autoescaped, because room and site names come from site files and
    sensors; strict, so a template naming a value nobody passed fails in the tests rather
    than sending an email with a blank where a figure belongs."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
