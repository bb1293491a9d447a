"""Text folding and cue patterns shared by the knowledge modules."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import snowballstemmer

from bot.paths import MESSAGES_DIR as MESSAGES_DIR  # re-exported to the knowledge modules

DEFAULT_LOCALE = "en"

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_REPEATS = re.compile(r"([^\W\d_])\1+")
_WILDCARD = r"(?: \S+){0,3} "


def base_locale(locale: str) -> str:
    """'en-GB' / 'es_MX' / 'ES' -> 'en' / 'es' / 'es' (empty -> the default)."""
    return re.split(r"[-_]", (locale or "").strip() or DEFAULT_LOCALE)[0].lower()


def unaccent(text: str) -> str:
    """NFKC, casefold, apostrophes dropped ("don't" -> "dont") and accents removed; punctuation kept."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES).replace("'", "")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def fold(text: str, *, squeeze: bool = True) -> str:
    """One spelling for the many ways a phrase is typed.

    NFKC, casefold, apostrophes dropped ("don't" -> "dont"), accents removed, anything not a letter
    or digit becomes a space, and (with `squeeze`) letters typed twice or more cut to one
    ("yesss" -> "yes", "really" -> "realy"; applied to both sides of every comparison).
    """
    text = "".join(ch if ch.isalnum() else " " for ch in unaccent(text))
    if squeeze:
        text = _REPEATS.sub(r"\1", text)
    return " ".join(text.split())


def cue_regex(cue: str) -> re.Pattern[str]:
    """A cue as a regex over folded text: whole words, `stem*` for any ending, `...` for up to three words."""
    pattern = ""
    separator = ""
    for token in cue.split():
        if token == "...":
            separator = _WILDCARD
            continue
        star = token.endswith("*")
        stem = fold(token.rstrip("*"))
        if not stem:
            continue
        pattern += separator + re.escape(stem) + (r"\S*" if star else "")
        separator = " "
    if not pattern:
        raise ValueError(f"empty cue {cue!r}")
    return re.compile(r"(?<!\S)" + pattern + r"(?!\S)")


def stemmer(language: str | None) -> Callable[[str], str]:
    """A word's Snowball stem in this language ("sessions" -> "session", "terapeutas" -> "terapeut").

    `language` is a Snowball algorithm name ("english", "spanish"); None stems nothing. The stemmer
    is cached per word, since a locale's vocabulary is small. Raises ValueError for an unknown language.
    """
    if language is None:
        return lambda word: word
    if language not in snowballstemmer.algorithms():
        raise ValueError(f"no Snowball stemmer for {language!r}")
    algorithm = snowballstemmer.stemmer(language)
    return lru_cache(maxsize=65536)(algorithm.stemWord)
