"""A message ready to send: the same content for every channel, each taking the part it can
carry (email: subject, text and HTML; webhook and MQTT: the JSON document; chat: subject and
text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NoticeKind = Literal["opened", "reopened", "recovered", "escalated", "digest", "test"]


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    subject: str
    text: str
    html: str
    # The JSON document webhooks and MQTT receive: {"event": kind, "alert": {...}, ...}.
    data: dict[str, Any] = field(default_factory=dict)
