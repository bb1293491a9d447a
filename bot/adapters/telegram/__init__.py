"""Telegram, through python-telegram-bot 22: mapping, ordered handling, paced sending, life cycle."""

from __future__ import annotations

from bot.adapters.registry import OnFatal
from bot.adapters.telegram.adapter import TelegramAdapter
from bot.adapters.telegram.mapping import PLATFORM
from bot.adapters.telegram.sending import OVERALL_RATE
from bot.config import Settings
from bot.engine import Engine

__all__ = ["TelegramAdapter", "build"]


def build(engine: Engine, settings: Settings, on_fatal: OnFatal | None = None) -> TelegramAdapter:
    """The registry's way in: paced to this process's share of Telegram's overall rate."""
    rate = OVERALL_RATE * settings.rate_share(PLATFORM)
    return TelegramAdapter(engine, settings, overall_rate=rate, on_fatal=on_fatal)
