"""Logging set-up: one format, quiet HTTP libraries, and redaction of tokens from every line."""

from __future__ import annotations

import logging
import re

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


def setup_logging(level: str, secrets: list[str]) -> None:
    """Log to stderr with tokens redacted; keep httpx from logging URLs that carry the token."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    for noisy in ("httpx", "httpcore", "aiosqlite", "discord.http", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
