"""Nudges: when each one is due (timing), what it says (content, words) and where (zones).

All of it is pure: the loop that sends them is `bot.dispatcher`, above the engine and the adapters, so
the engine may use these parts without importing the loop.
"""
