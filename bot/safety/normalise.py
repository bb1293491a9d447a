"""Text normalisation shared by every safety layer: one spelling for the many ways a phrase is typed."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_NUMBER = re.compile(r"(\d+)(st|nd|rd|th|am|pm|mg|kg|km|ml|g|h|hr|hrs|min|mins|x|k|yo|s)")
_ORDINAL = {"1": "st", "2": "nd", "3": "rd"}

WINDOW_STEP = 300
"""Text longer than 2 * WINDOW_STEP is read in windows of that width, WINDOW_STEP apart: a sign
buried in a long story is read at message size, beside the words around it, not the whole story's."""
MAX_WINDOWS = 13
"""The classifier scores at most this many windows (about 4,200 characters, a Telegram message),
so its cost has a bound; the patterns read every window."""


def normalise(text: str) -> str:
    """Fold the many ways a phrase can be typed into one spelling before matching.

    NFKC, casefold, straight apostrophes (then dropped: "don't" -> "dont"), leetspeak inside
    words that contain letters (not in numbers such as "14th", "2am", "500mg"), no accents,
    letters repeated 3+ times cut to two, anything that is not a letter or digit becomes a space,
    whitespace collapsed.
    """
    return _normalise(text, leet=True)


def _normalise(text: str, *, leet: bool) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES).replace("'", "")
    if leet:
        text = " ".join(
            chunk.translate(_LEET) if any(ch.isalpha() for ch in chunk) and not _is_number(chunk) else chunk
            for chunk in text.split()
        )
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    text = _REPEATS.sub(r"\1\1", text)
    return " ".join(text.split())


def _is_number(chunk: str) -> bool:
    """Whether a chunk is a number with a unit or an ordinal ("14th", "2am"), not leetspeak ("3nd")."""
    found = _NUMBER.fullmatch(chunk.strip(".,;:!?()[]\"'"))
    if found is None:
        return False
    digits, suffix = found.groups()
    if suffix not in ("st", "nd", "rd", "th"):
        return True
    expected = "th" if digits[-2:-1] == "1" else _ORDINAL.get(digits[-1], "th")
    return suffix == expected


def windows(text: str, step: int = WINDOW_STEP) -> list[str]:
    """The text itself when it is at most 2 * step long; otherwise overlapping windows of that
    width starting every `step` characters (moved to the next word start)."""
    width = 2 * step
    if len(text) <= width:
        return [text]
    starts = {0}
    for at in range(step, len(text) - step, step):
        space = text.find(" ", at)
        starts.add(space + 1 if 0 <= space < at + step else at)
    return [text[start : start + width] for start in sorted(starts)]
