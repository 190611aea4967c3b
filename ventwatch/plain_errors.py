"""pydantic's findings said in plain English for the person who wrote the value: a site file
(`check-config`), or a dashboard address (a page asked for with a wrong parameter).

pydantic reports "Extra inputs are not permitted" and "Input should be 'natural', 'mechanical'
or 'mixed'"; a site manager needs "unknown key `timezon` in `site` — did you mean
`timezone`?", the value they wrote repeated back, every value that would do, and an example
of the form wanted (times above all). The models themselves stay the one description of a
site file: the keys a section takes and the values a key takes are read from them, never
listed again here.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

# Forms wanted where a value has a shape of its own, by key.
SHAPE_EXAMPLES = {
    "bb101_mode": (
        "natural or mechanical for the whole year, or the months of each mode, e.g. "
        "{mechanical: [nov, dec, jan, feb, mar], natural: [apr, may, jun, jul, sep, oct]}"
    ),
    "holidays": "a date (2026-12-21) or a range ({start: 2026-12-21, end: 2027-01-01})",
}
TIME_EXAMPLE = '"08:45"'
DATE_EXAMPLE = "2026-09-01"


@dataclass(frozen=True)
class Finding:
    """One problem to report: where (a dotted path, "" when the message names the place
    itself) and what, in words; `loc` is pydantic's own, which finds the file's line."""

    where: str
    message: str
    loc: tuple[str | int, ...] = ()


def did_you_mean(wrong: str, choices: Iterable[str]) -> str:
    """' — did you mean `timezone`?' for the closest choice (case aside), or ''."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(wrong.lower(), list(by_lower), n=1, cutoff=0.7)
    return f" — did you mean `{by_lower[close[0]]}`?" if close else ""


def one_of(choices: Sequence[str], last: str = "and") -> str:
    """'a, b and c' (or 'a, b or c'): every choice, in full."""
    if len(choices) < 2:
        return "".join(choices)
    return f"{', '.join(choices[:-1])} {last} {choices[-1]}"


def dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _members(annotation: Any) -> list[tuple[Any, str | None]]:
    """The types a value at `annotation` may take, each with its union tag (if any):
    Annotated wrappers and unions (None left out) flattened."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        tag = next((m.tag for m in meta if isinstance(m, Tag)), None)
        found = _members(inner)
        return [(t, tag) for t, _ in found] if tag is not None and len(found) == 1 else found
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) if arg is not type(None) for m in _members(arg)]
    return [(annotation, None)]


def _step(annotation: Any, part: str | int) -> Any | None:
    """The annotation of `part` (a key or a list index) inside a value of `annotation`, or
    None when `part` is no key there (a union's tag, or the unknown key itself)."""
    for member, _ in _members(annotation):
        origin, args = get_origin(member), get_args(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for name, field in member.model_fields.items():
                if part in (name, field.alias):
                    return field.annotation
        elif origin is list and isinstance(part, int):
            return args[0]
        elif origin is dict and isinstance(part, str):
            keys = [k for k, _ in _members(args[0])]
            if any(get_origin(k) is not Literal or part in get_args(k) for k in keys):
                return args[1]
    return None


def _walk(root: type[BaseModel], loc: Sequence[str | int]) -> tuple[tuple[str | int, ...], Any]:
    """`loc` without pydantic's union tags (`literal['natural','mechanical']`, `plant`),
    and the annotation it ends at (None past a key no model has)."""
    annotation: Any = root
    clean: list[str | int] = []
    for part in loc:
        inner = _step(annotation, part) if annotation is not None else None
        if inner is None and annotation is not None and len(_members(annotation)) > 1:
            continue  # a union member's tag: no key of the file
        clean.append(part)
        annotation = inner
    return tuple(clean), annotation


def _keys(annotation: Any) -> list[str]:
    """The keys a section takes, as the file spells them."""
    for member, _ in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return [f.alias or name for name, f in member.model_fields.items()]
    return []


def _shown(value: Any) -> str:
    """A value as the person wrote it, in backquotes (shortened: it may be a whole section)."""
    text = str(value)
    return f"`{text if len(text) <= 60 else text[:57] + '...'}`"


def _allowed(err: ErrorDetails) -> list[str]:
    """The values a literal_error allows, from pydantic's "'a', 'b' or 'c'"."""
    expected = str((err.get("ctx") or {}).get("expected", ""))
    return re.findall(r"'([^']*)'", expected)


def _place(loc: Sequence[str | int]) -> str:
    return f"in `{dotted(loc)}`" if loc else "at the top of the file"


def in_words(err: ErrorDetails, loc: tuple[str | int, ...]) -> Finding:
    """One error at `loc` (pydantic's, less any union tags): the value repeated back and
    what would do instead."""
    kind, value = err["type"], err.get("input")
    key = next((p for p in reversed(loc) if isinstance(p, str)), "")
    where = dotted(loc)
    if kind == "missing":
        return Finding("", f"missing key `{loc[-1]}` {_place(loc[:-1])}")
    if kind == "literal_error":
        allowed = _allowed(err)
        hint = did_you_mean(str(value), allowed)
        return Finding(where, f"{_shown(value)} is not one of {one_of(allowed, 'or')}{hint}")
    if kind.startswith("time_"):
        return Finding(
            where,
            f"{_shown(value)} is not a time: write it as HH:MM (24-hour clock) in quotes, "
            f"e.g. {key}: {TIME_EXAMPLE}",
        )
    if kind.startswith("date_"):
        return Finding(
            where,
            f"{_shown(value)} is not a date: write it as YYYY-MM-DD, e.g. {key}: {DATE_EXAMPLE}",
        )
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return Finding(where, f"{_shown(value)} is not an integer (a whole number, e.g. 30)")
    if kind in ("float_parsing", "float_type"):
        return Finding(where, f"{_shown(value)} is not a number (e.g. 180 or 12.5)")
    if kind in ("bool_parsing", "bool_type"):
        return Finding(where, f"{_shown(value)} is not true or false")
    if kind == "value_error":
        return Finding(where, err["msg"].removeprefix("Value error, "))
    if kind == "string_pattern_mismatch":
        return Finding(where, f"{_shown(value)} is not written as {key} is written here")
    said = err["msg"].replace("Input should be", "should be")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return Finding(where, f"{_shown(value)} is out of range: it {said}")
    return Finding(where, f"{_shown(value)}: {said}" if value is not None else said)


def plain_findings(root: type[BaseModel], errors: Sequence[ErrorDetails]) -> list[Finding]:
    """Every error of a validation of `root`, in words, in pydantic's order; the branches of
    a union that all failed for one value are one finding."""
    findings: list[Finding] = []
    seen: set[tuple[str | int, ...]] = set()
    for err in errors:
        raw = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            parent, section = _walk(root, raw[:-1])
            wrong = str(raw[-1])
            keys = _keys(section)
            hint = (did_you_mean(wrong, keys) or f" (it takes {one_of(keys)})") if keys else ""
            findings.append(Finding("", f"unknown key `{wrong}` {_place(parent)}{hint}", raw))
            continue
        loc, _ = _walk(root, raw)
        if len(loc) == len(raw):
            findings.append(replace(in_words(err, loc), loc=raw))
            continue
        # One branch of a union: the value is worded once, with the forms it may take.
        if loc in seen:
            continue
        seen.add(loc)
        finding = in_words(err, loc)
        key = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if key in SHAPE_EXAMPLES:
            shape = SHAPE_EXAMPLES[key]
            said = f"{_shown(err.get('input'))} is not a {key} value: give {shape}"
            finding = Finding(finding.where, said)
        findings.append(replace(finding, loc=raw))
    return findings
