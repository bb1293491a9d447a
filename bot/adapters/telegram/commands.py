"""The command menu: descriptions from `messages/<locale>/commands.toml`, registered at start."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.templates import DEFAULT_LOCALE, MESSAGES_DIR

logger = logging.getLogger(__name__)

FILENAME = "commands.toml"


def load_commands(root: Path = MESSAGES_DIR) -> dict[str, list[BotCommand]]:
    """Locale -> its command list, for every locale that has the file (English is required)."""
    menus: dict[str, list[BotCommand]] = {}
    for folder in sorted(p for p in root.iterdir() if (p / FILENAME).is_file()):
        table = tomllib.loads((folder / FILENAME).read_text(encoding="utf-8"))
        menus[folder.name] = [BotCommand(name, str(text)) for name, text in table.items()]
    if DEFAULT_LOCALE not in menus:
        raise FileNotFoundError(f"no {DEFAULT_LOCALE}/{FILENAME} under {root}")
    return menus


async def register_commands(bot: Bot, root: Path = MESSAGES_DIR) -> None:
    """English is the default menu; other locales are shown to people whose app uses that language.

    A failure only costs the menu (commands still work when typed), so it is logged, not raised.
    """
    for locale, commands in load_commands(root).items():
        language = None if locale == DEFAULT_LOCALE else locale
        try:
            await bot.set_my_commands(commands, language_code=language)
        except TelegramError as error:
            logger.warning("telegram: could not set the %s command menu: %s", locale, type(error).__name__)
