"""The conversation engine: platform-neutral turns over the store, rendered through templates."""

from bot.engine.engine import Engine, EngineSettings, markup_for

__all__ = ["Engine", "EngineSettings", "markup_for"]
