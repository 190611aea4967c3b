"""What a page says when its address (or a form) carries a parameter it cannot take.

FastAPI answers such a request with 422 and a JSON body (`{"detail": [{"loc": ["query",
"week"], "msg": "String should match pattern ..."}]}`): right for the API, meaningless to a
person who followed an old link or typed a week by hand. A page gets the same status with
the parameter named, the value repeated back and what it takes, in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ventwatch.plain_errors import in_words

# What a parameter whose form is a pattern takes, by name: pydantic only knows the regex.
FORMS: Final = {"week": "an ISO week, e.g. 2026-W47"}


def in_plain_words(errors: Sequence[Any]) -> str:
    """Every problem of a request, one sentence each: "week: `next week` is not an ISO week,
    e.g. 2026-W47"."""
    sentences = []
    for err in errors:
        loc = tuple(err["loc"])[1:]  # without "query" / "body"
        name = str(loc[-1]) if loc else "the request"
        if err["type"] == "string_pattern_mismatch" and name in FORMS:
            value = str(err.get("input"))[:60]
            sentences.append(f"{name}: `{value}` is not {FORMS[name]}")
            continue
        if err["type"] == "missing":
            sentences.append(f"{name} is missing: the address or form must give it")
            continue
        sentences.append(f"{name}: {in_words(err, loc).message}")
    return "; ".join(sentences)
