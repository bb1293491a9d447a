"""Logging set-up: text or JSON lines, quiet HTTP libraries, tokens redacted from every line."""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")

TOKEN_PATTERNS = [
    re.compile(r"bot\d+:[A-Za-z0-9_-]+"),  # Telegram tokens inside Bot API URLs
    re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b"),  # bare Telegram tokens
    re.compile(r"\b[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}\b"),  # Discord tokens
]


class RedactingFilter(logging.Filter):
    """Replaces secrets in the final message of every record (arguments included)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub("[redacted]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message; an exception as its type and
    redacted trace (the filter runs first). Our messages carry counts and kinds, never what people wrote."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class HeldBack(logging.Handler):
    """Keeps start-up's log records until it is known how start-up went (bounded).

    A start-up that fails is reported as one line on stderr (the cause), not as the warnings that led
    there; one that succeeds writes what was held, in order, and logs straight to stderr from then on.
    """

    def __init__(self, target: logging.Handler, limit: int = 1000) -> None:
        super().__init__()
        self.target = target
        self.records: deque[logging.LogRecord] = deque(maxlen=limit)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _end_hold(write: bool) -> None:
    root = logging.getLogger()
    for index, handler in enumerate(root.handlers):
        if isinstance(handler, HeldBack):
            root.handlers[index] = handler.target
            if write:
                for record in handler.records:
                    handler.target.handle(record)


def release_startup_logs() -> None:
    """Start-up went well: write what was held back (a no-op when nothing is held)."""
    _end_hold(write=True)


def discard_startup_logs() -> None:
    """Start-up failed and is reported in one line: drop what was held back."""
    _end_hold(write=False)


def setup_logging(level: str, secrets: list[str], fmt: str = "text", *, hold: bool = False) -> None:
    """Log to stderr with tokens redacted (as text, or JSON lines with `fmt="json"`); keep httpx from
    logging URLs that carry the token. With `hold`, records wait for `release_startup_logs` or
    `discard_startup_logs`."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [HeldBack(handler) if hold else handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for noisy in ("httpx", "httpcore", "aiosqlite", "discord.http", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
