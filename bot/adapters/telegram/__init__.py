"""Telegram, through python-telegram-bot 22: mapping, ordered handling, paced sending, life cycle."""

from __future__ import annotations

from bot.adapters.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
