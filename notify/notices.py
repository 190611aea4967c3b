"""A message ready to send: the same content for every channel, each taking the part it can
carry (email: subject, text, HTML and attachments; webhook and MQTT: the JSON document; chat:
subject and text)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Literal

NoticeKind = Literal[
    "opened", "reopened", "recovered", "escalated", "digest", "test", "report", "confirm", "review"
]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an email (the weekly report's PDF and XLSX)."""

    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    subject: str
    text: str
    html: str
    # The JSON document webhooks and MQTT receive: {"event": kind, "alert": {...}, ...}.
    data: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    # Its email thread: a token naming the thread's root message (the sender chooses it;
    # alerts make one per room's episode), and whether this message is that root. Empty: a
    # message of its own.
    thread: str = ""
    opens_thread: bool = False

    def to_json(self) -> str:
        """As the outbox keeps it until sent (attachments as base64)."""
        return json.dumps(
            {
                "kind": self.kind,
                "subject": self.subject,
                "text": self.text,
                "html": self.html,
                "data": self.data,
                "thread": self.thread,
                "opens_thread": self.opens_thread,
                "attachments": [
                    {
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "data": base64.b64encode(a.data).decode("ascii"),
                    }
                    for a in self.attachments
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Notice:
        doc = json.loads(text)
        attachments = tuple(
            Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
            for a in doc.pop("attachments", [])
        )
        return cls(**doc, attachments=attachments)
