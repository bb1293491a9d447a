"""Where the shipped data lives: `messages/` at the top of a checkout, `bot/_messages` in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def messages_dir() -> Path:
    """The `messages/` folder: inside the installed package if it is there, else the checkout's."""
    installed = _PACKAGE / "_messages"
    return installed if installed.is_dir() else _PACKAGE.parent / "messages"


MESSAGES_DIR = messages_dir()
