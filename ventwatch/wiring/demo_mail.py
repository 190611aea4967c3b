"""The mail server of `ventwatch demo --smtp-debug`: a real SMTP server (aiosmtpd) on a
loopback port that prints each message it receives and keeps it as a .eml file, so the demo
shows alert emails end to end without a mail relay. Never for production mail."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import typer
from aiosmtpd.controller import Controller


class _Printer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.count += 1
        path = self.folder / f"{self.count:04d}.eml"
        path.write_bytes(envelope.content)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        typer.echo(
            f"\n--- mail {self.count} to {', '.join(envelope.rcpt_tos)} ({path}) ---\n"
            f"Subject: {message['Subject']}\n{text}---"
        )
        return "250 OK"


class DemoMail:
    def __init__(self, folder: Path, port: int, host: str = "127.0.0.1") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.host = host
        self.port = port
        self._controller = Controller(_Printer(folder), hostname=host, port=port)

    @property
    def url(self) -> str:
        """The VENTWATCH_SMTP_URL that sends here."""
        return f"smtp://{self.host}:{self.port}?from=ventwatch-demo@localhost"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
