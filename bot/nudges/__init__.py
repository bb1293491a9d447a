"""Nudges: when each one is due (timing), what it says (content), and the loop that sends them (dispatcher).

`timing` and `content` are pure; only `dispatcher` touches the store and the adapters, so the engine may
use the pure parts without importing the loop.
"""
