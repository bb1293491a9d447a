"""Telegram, through python-telegram-bot 22: mapping, ordered handling, paced sending, life cycle.

Importing the package loads no Telegram library (config reads its settings section without it); the
adapter comes with its first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.base import lazy_exports

if TYPE_CHECKING:
    from bot.adapters.telegram.adapter import TelegramAdapter, build

__all__ = ["TelegramAdapter", "build"]

__getattr__ = lazy_exports(__name__, "adapter", __all__)
