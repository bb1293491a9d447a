"""Plain answers understood: "yeah kind of" is Partly, "no idea" is I'm not sure, "skip this" is Skip.

The words live in `messages/<locale>/answers.toml`. A reply is folded (case, accents, punctuation,
repeated letters), then matched in three steps:

1. the whole reply is one of a value's phrases;
2. phrases found inside the reply, exactly or with a typo (rapidfuzz, optimal string alignment,
   over windows of the reply's words); overlapping finds give way to the longest, so "not sure"
   (unsure) wins over "no" and "only a little" (partly) over "yes"; Partly alongside other answers
   ("yes, a bit") is Partly;
3. the whole reply close to one phrase (a typo in a one-word reply: "parlty").

Only an offered value is ever returned: the best reading of the reply that is not on offer gives
None, never a second-best guess ("a bit" to a yes/no question is not Yes). Replies in another
locale's words fall back to English.

Reasons and endings named in a short story ("I couldn't afford it anymore") are recognised from
cue lists in the same file, so the conversation can confirm them with one question.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.domain import ANSWERS, ENDINGS, REASONS
from bot.knowledge.text import DEFAULT_LOCALE, MESSAGES_DIR, base_locale, cue_regex, fold

NAVIGATION = ("skip", "back", "stop")

WINDOW_CUTOFF = 0.85
"""Similarity a stretch of the reply needs to count as a misspelt phrase."""
WHOLE_CUTOFF = 0.8
"""Similarity a whole short reply needs to count as a misspelt phrase."""
MIN_FUZZY_CHARS = 5
"""Phrases shorter than this are only found exactly inside a reply ("no" must not match "not")."""
MIN_WHOLE_FUZZY_CHARS = 4
"""Replies shorter than this are only matched exactly ("yse" is in the word list; "ok" is not "no")."""
_MAX_WINDOW = 6
MAX_COUNTRY_REPLY = 6
OTHER_COUNTRY = "other"
"""What `recognise_country` gives for a real country not in `[country]` ("Argentina"): somewhere else."""
"""Longer replies at the country question are not read as a country (the buttons are there)."""


class AnswersError(ValueError):
    """An answers file is malformed; raised at load so a broken edit is caught at start-up."""


@dataclass(frozen=True)
class _Phrase:
    value: str
    text: str  # folded
    tokens: tuple[str, ...]
    alone: bool


@dataclass(frozen=True)
class _Found:
    value: str
    start: int
    end: int
    length: int
    score: float


class AnswerBook:
    """One locale's words for choices, reasons and endings, loaded once."""

    def __init__(
        self,
        locale: str,
        answers: Mapping[str, tuple[_Phrase, ...]],
        reasons: Mapping[str, tuple[re.Pattern[str], ...]],
        endings: Mapping[str, tuple[re.Pattern[str], ...]],
        negators: frozenset[str],
        countries: Mapping[str, str] | None = None,
    ) -> None:
        self.locale = locale
        self._countries = dict(countries or {})
        self._phrases = tuple(p for phrases in answers.values() for p in phrases)
        self._whole = {p.text: p.value for p in self._phrases}
        self._fuzzy = tuple(p for p in self._phrases if not p.alone and len(p.text) >= MIN_FUZZY_CHARS)
        self._fuzzy_texts = [p.text for p in self._fuzzy]
        self._reasons = dict(reasons)
        self._endings = dict(endings)
        self._negators = negators

    @classmethod
    def load(cls, locale: str, root: Path | None = None) -> AnswerBook:
        """Read `messages/<locale>/answers.toml` (raises AnswersError or FileNotFoundError)."""
        path = (root or MESSAGES_DIR) / locale / "answers.toml"
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        answers: dict[str, tuple[_Phrase, ...]] = {}
        for value, table in _table(doc, "answer", path).items():
            if not isinstance(table, dict) or set(table) - {"words", "alone"}:
                raise AnswersError(f"{path}: [answer.{value}] holds only words and alone")
            phrases = [
                _Phrase(value, text, tuple(text.split()), alone)
                for alone in (False, True)
                for text in (fold(w) for w in _strings(table.get("alone" if alone else "words", []), path))
                if text
            ]
            if not phrases:
                raise AnswersError(f"{path}: [answer.{value}] has no words")
            answers[value] = tuple(phrases)
        reasons = _cues(_table(doc, "reason", path), REASONS, path)
        endings = _cues(_table(doc, "ending", path), ENDINGS, path)
        negators = frozenset(fold(w) for w in _strings(doc.get("negators", {}).get("words", []), path))
        return cls(locale, answers, reasons, endings, negators, _countries(doc, locale, path))

    def values(self) -> set[str]:
        """Every choice value this locale has words for."""
        return {p.value for p in self._phrases}

    def read(self, text: str) -> str | None:
        """The choice value a reply reads as, on offer or not (None: it reads as none of them)."""
        folded = fold(text)
        if not folded:
            return None
        if folded in self._whole:
            return self._whole[folded]
        found = self._inside(folded)
        if found:
            return _resolve(found)
        if len(folded) >= MIN_WHOLE_FUZZY_CHARS:
            best = process.extractOne(
                folded,
                [p.text for p in self._phrases],
                scorer=OSA.normalized_similarity,
                score_cutoff=WHOLE_CUTOFF,
            )
            if best is not None:
                return self._phrases[best[2]].value
        return None

    def _inside(self, folded: str) -> list[_Found]:
        tokens = folded.split()
        found: list[_Found] = []
        for p in self._phrases:
            if p.alone:
                continue
            n = len(p.tokens)
            for i in range(len(tokens) - n + 1):
                if tuple(tokens[i : i + n]) == p.tokens:
                    found.append(_Found(p.value, i, i + n, len(p.text), 1.0))
        spans = [
            (i, j) for i in range(len(tokens)) for j in range(i + 1, min(len(tokens), i + _MAX_WINDOW) + 1)
        ]
        if spans and self._fuzzy:
            windows = [" ".join(tokens[i:j]) for i, j in spans]
            scores = process.cdist(
                windows, self._fuzzy_texts, scorer=OSA.normalized_similarity, score_cutoff=WINDOW_CUTOFF
            )
            for w, p_index in zip(*scores.nonzero(), strict=True):
                i, j = spans[w]
                phrase = self._fuzzy[p_index]
                if abs((j - i) - len(phrase.tokens)) <= 1:
                    found.append(_Found(phrase.value, i, j, len(phrase.text), float(scores[w, p_index])))
        return found

    def country_in(self, text: str, *, others_alone: bool = False) -> str | None:
        """The country code a short typed reply names ("uk", "I live in England", "Reino Unido" -> "GB"),
        or OTHER_COUNTRY for a country not listed; with `others_alone`, those only as the whole reply
        (so "I told Jordan" is not a country)."""
        words = fold(text).split()
        if len(words) > MAX_COUNTRY_REPLY:
            return None
        whole = " ".join(words)
        ends = (" ".join(words[-n:]) for n in range(min(len(words), 3), 0, -1))  # "i live in [the uk]"
        for name in (whole, *ends):
            code = self._countries.get(name)
            if code is not None and (code != OTHER_COUNTRY or not others_alone or name == whole):
                return code
        return None

    def reasons_in(self, text: str) -> list[str]:
        """Every reason a story names, in the order of REASONS."""
        folded = fold(text)
        return [r for r in REASONS if any(c.search(folded) for c in self._reasons.get(r, ()))]

    def ending_in(self, text: str) -> str | None:
        """The first ending (in the file's priority order) a story names, ignoring negated cues."""
        folded = fold(text)
        for ending, cues in self._endings.items():
            for cue in cues:
                for m in cue.finditer(folded):
                    before = folded[: m.start()].split()
                    if not (before and before[-1] in self._negators):
                        return ending
        return None


def _resolve(found: list[_Found]) -> str:
    """The value of the longest non-overlapping finds; Partly among answers wins (\"yes, a bit\")."""
    chosen: list[_Found] = []
    for f in sorted(found, key=lambda f: (-f.length, -f.score, f.start)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    values = {c.value for c in chosen}
    if "partly" in values and values <= set(ANSWERS):
        return "partly"
    return chosen[0].value


def _countries(doc: Mapping[str, object], locale: str, path: Path) -> dict[str, str]:
    """Folded name -> country code: each country in `[country]` by its name in this language (Babel)
    and by the other names people type for it (the file's words; codes only where listed, as "in"
    and "es" are words); every other country Babel names (a territory with a currency: not "the UN")
    -> OTHER_COUNTRY."""
    territories: Mapping[str, str]
    try:
        territories = dict(Locale.parse(locale).territories)
    except (UnknownLocaleError, ValueError):
        territories = {}
    names: dict[str, str] = {}
    for code, words in _table(doc, "country", path).items():
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise AnswersError(f"{path}: [country] keys are ISO 3166 codes such as GB, not {code!r}")
        for name in (territories.get(code, ""), *_strings(words, path)):
            if folded := fold(name):
                names[folded] = code
    for code, name in territories.items():
        if re.fullmatch(r"[A-Z]{2}", code) and get_territory_currencies(code) and (folded := fold(name)):
            names.setdefault(folded, OTHER_COUNTRY)
    return names


def _table(doc: Mapping[str, object], key: str, path: Path) -> dict[str, object]:
    table = doc.get(key, {})
    if not isinstance(table, dict):
        raise AnswersError(f"{path}: [{key}] must be a table")
    return table


def _strings(items: object, path: Path) -> list[str]:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise AnswersError(f"{path}: word lists must be lists of strings")
    return items


def _cues(
    table: Mapping[str, object], allowed: Iterable[str], path: Path
) -> dict[str, tuple[re.Pattern[str], ...]]:
    unknown = set(table) - set(allowed)
    if unknown:
        raise AnswersError(f"{path}: unknown key(s) {sorted(unknown)}")
    return {key: tuple(cue_regex(c) for c in _strings(cues, path)) for key, cues in table.items()}


@cache
def book(locale: str) -> AnswerBook:
    """The answer book for a locale (its base language), falling back to English; loaded once."""
    base = base_locale(locale)
    try:
        return AnswerBook.load(base)
    except FileNotFoundError:
        return AnswerBook.load(DEFAULT_LOCALE)


def _books(locale: str) -> list[AnswerBook]:
    first = book(locale)
    return [first] if first.locale == DEFAULT_LOCALE else [first, book(DEFAULT_LOCALE)]


def match_answer(text: str, offered: Sequence[str], locale: str) -> str | None:
    """The offered choice value a plain reply means, or None.

    `offered` holds choice values as buttons carry them: yes partly no unsure skip back stop, the
    endings, look and plan. When endings are offered, a story naming one ("the sessions ran out")
    is read first.
    """
    offer = set(offered)
    for b in _books(locale):
        if offer & set(ENDINGS) and (ending := b.ending_in(text)) is not None and ending in offer:
            return ending
        value = b.read(text)
        if value is not None:
            return value if value in offer else None
    return None


def recognise_reasons(text: str, locale: str) -> list[str]:
    """Every reason (of REASONS) a short story names; the locale's cues, else English ones."""
    for b in _books(locale):
        if found := b.reasons_in(text):
            return found
    return []


def recognise_reason(text: str, locale: str) -> str | None:
    """The one reason a short story clearly names ("I couldn't afford it anymore" -> practical).

    None when it names none, or several (then ask rather than guess; `recognise_reasons` lists them).
    """
    found = recognise_reasons(text, locale)
    return found[0] if len(found) == 1 else None


def recognise_country(text: str, locale: str, *, others_alone: bool = False) -> str | None:
    """The country code a typed reply names, in this locale's words or in English (OTHER_COUNTRY for
    one not listed; with `others_alone`, only when it is the whole reply), or None."""
    books = _books(locale)
    return next((c for b in books if (c := b.country_in(text, others_alone=others_alone)) is not None), None)


def recognise_ending(text: str, locale: str) -> str | None:
    """How therapy ended, when a short story says so ("my therapist moved away" -> therapist_ended)."""
    for b in _books(locale):
        if (ending := b.ending_in(text)) is not None:
            return ending
    return None
