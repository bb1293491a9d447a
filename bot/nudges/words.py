"""Words a person may type about nudges, per locale: stop phrases, am/pm, and "to" in a time range.

They live in `messages/<locale>/nudges/words.toml` with every other sentence, so a translator adds them
too; a locale without the file falls back to English.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.templates import DEFAULT_LOCALE, MESSAGES_DIR

WORDS_FILE = Path("nudges") / "words.toml"


def normalise(text: str) -> str:
    """Case, accents' forms, curly apostrophes and punctuation folded, so 'Don’t!' matches 'dont'."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^\w:.]+", " ", text).split()).strip(" .")


@dataclass(frozen=True)
class NudgeWords:
    stop_whole: frozenset[str]  # a message that is exactly one of these stops nudges
    stop_anywhere: tuple[str, ...]  # a message containing one of these (as whole words) stops nudges
    am: tuple[str, ...]
    pm: tuple[str, ...]
    range_words: tuple[str, ...]  # what joins two times: "to", "until" (dashes always work)
    before: tuple[str, ...] = ()  # words before a time that add nothing: "at", "a las"
    rhythm: tuple[tuple[str, str], ...] = ()  # (phrase, rhythm code), longest phrase first

    def rhythm_in(self, text: str) -> str | None:
        """The rhythm code the longest phrase found in a reply names ("a few times a week" -> "f")."""
        padded = f" {normalise(text)} "
        return next((code for phrase, code in self.rhythm if f" {phrase} " in padded), None)

    def is_stop(self, text: str) -> bool:
        said = normalise(text)
        if said in self.stop_whole:
            return True
        padded = f" {said} "
        return any(f" {phrase} " in padded for phrase in self.stop_anywhere)


@cache
def load_words(root: Path = MESSAGES_DIR, locale: str = DEFAULT_LOCALE) -> NudgeWords:
    path = root / locale / WORDS_FILE
    if not path.is_file():
        path = root / DEFAULT_LOCALE / WORDS_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return NudgeWords(
        stop_whole=frozenset(normalise(p) for p in data["stop"]),
        stop_anywhere=tuple(normalise(p) for p in data["stop_anywhere"]),
        am=tuple(normalise(p) for p in data["am"]),
        pm=tuple(normalise(p) for p in data["pm"]),
        range_words=tuple(normalise(p) for p in data["range"]),
        before=tuple(normalise(p) for p in data.get("before", ())),
        rhythm=tuple(
            sorted(
                ((normalise(p), code) for code, phrases in data.get("rhythm", {}).items() for p in phrases),
                key=lambda pair: -len(pair[0]),
            )
        ),
    )
