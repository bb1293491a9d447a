"""Crisis detection: normalise a message, blank out idioms, then match phrase patterns.

Every free-text message is checked before anything else, so this module is pure and fast:
the pattern files (one per locale, all applied to every message) are parsed and compiled once
by `CrisisDetector.load()`. The phrase syntax is documented at the top of `patterns/en.toml`.
A missed crisis is far worse than a false alarm, but idioms must not fire, which is why every
pattern file carries an exclude list and the tests run a table of phrases in both directions.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.safety.normalise import _normalise, normalise

CATEGORIES: tuple[str, ...] = (
    "plan_or_means",
    "suicidal_ideation",
    "self_harm",
    "danger_from_others",
    "abuse",
)
"""Signal categories, most urgent first: when several match, the first one wins."""

TAIL_WORDS = 8
"""How many normalised words of a message are kept to catch a phrase split over two messages."""

_PATTERNS_DIR = Path(__file__).parent / "patterns"


class Risk(StrEnum):
    """How sure the detector is: a clear sign gets the crisis reply, a possible one a direct question."""

    POSSIBLE = "possible"
    CLEAR = "clear"


@dataclass(frozen=True)
class Signal:
    """A sign of crisis; the engine answers with care (or asks directly) instead of continuing the flow."""

    category: str
    level: Risk = Risk.CLEAR


# --- the phrase syntax ---------------------------------------------------------------------


class PatternError(ValueError):
    """A pattern file is malformed; raised at load so a bad edit never reaches production."""


_TOKEN = re.compile(r"\.\.\.|\.\.|[()|?!*$]|@[a-z_]+|[^\s()|?!*$@.]+")


def _literal(word: str) -> str:
    """A word whose letters may each be typed once or twice ("kil", "cutt", "diie")."""
    out: list[str] = []
    for run in re.finditer(r"(.)\1*", word):
        ch = run.group(1)
        if ch.isalpha():
            out.append(f"{re.escape(ch)}{{1,2}}")
        else:
            out.append(re.escape(run.group(0)))
    return "".join(out)


class _Parser:
    """Recursive-descent compiler from the phrase syntax to a regex over " w1 w2 ... wn "."""

    def __init__(self, source: str, macros: Mapping[str, str], depth: int = 0) -> None:
        self.source = source
        self.tokens = _TOKEN.findall(source)
        self.pos = 0
        self.macros = macros
        self.depth = depth
        leftover = _TOKEN.sub("", source).strip()
        if leftover:
            raise PatternError(f"unexpected {leftover!r} in {source!r}")

    def compile(self) -> str:
        regex = self._alternatives()
        if self.pos != len(self.tokens):
            raise PatternError(f"unbalanced ')' in {self.source!r}")
        return regex

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _alternatives(self) -> str:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    def _sequence(self) -> str:
        parts: list[str] = []
        while self._peek() not in (None, "|", ")"):
            parts.append(self._item())
        if not parts:
            raise PatternError(f"empty phrase or alternative in {self.source!r}")
        return "".join(parts)

    def _item(self) -> str:
        token = self._peek()
        assert token is not None
        self.pos += 1
        if token == "!":
            if self._peek() in (None, "|", ")"):
                raise PatternError(f"'!' needs an item after it in {self.source!r}")
            return f"(?!{self._item()})"
        if token == "..":
            atom = r"(?:\S+ ){0,2}"
        elif token == "...":
            atom = r"(?:\S+ ){0,4}"
        elif token == "(":
            atom = "(?:" + self._alternatives() + ")"
            if self._peek() != ")":
                raise PatternError(f"missing ')' in {self.source!r}")
            self.pos += 1
        elif token == "$":
            return "$"
        elif token.startswith("@"):
            name = token[1:]
            if name not in self.macros:
                raise PatternError(f"unknown macro @{name} in {self.source!r}")
            if self.depth > 8:
                raise PatternError(f"macros nest too deeply at @{name}")
            atom = "(?:" + _Parser(self.macros[name], self.macros, self.depth + 1).compile() + ")"
        elif token in ("|", ")", "?", "*", "!"):
            raise PatternError(f"unexpected {token!r} in {self.source!r}")
        else:
            atom = _literal(token)
            if self._peek() == "*":
                self.pos += 1
                atom += r"\S*"
            atom += " "
        if self._peek() == "?":
            self.pos += 1
            atom = f"(?:{atom})?"
        return atom


def compile_phrase(source: str, macros: Mapping[str, str] | None = None) -> re.Pattern[str]:
    """Compile one phrase; it matches whole words of normalised text padded with spaces."""
    return re.compile("(?<= )" + _Parser(source, macros or {}).compile())


def _words_in(sources: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for source in sources:
        words.update(t for t in _TOKEN.findall(source) if t[0].isalnum())
    return words


def _typo_variants(word: str) -> set[str]:
    """Adjacent swaps (words of 4+ letters) and one dropped inner letter (6+), the usual slips.

    First and last letters are never dropped: "matarme" must not absorb "atarme" (tie me).
    """
    variants = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    if len(word) >= 6:
        variants |= {word[:i] + word[i + 1 :] for i in range(1, len(word) - 1)}
    variants.discard(word)
    return {v for v in variants if len(v) >= 4} if len(word) >= 4 else set()


def _compile_all(
    doc: Mapping[str, object], section: str, key: str, filename: str, macros: Mapping[str, str]
) -> list[re.Pattern[str]]:
    table = doc.get(section, {})
    if not isinstance(table, dict):
        raise PatternError(f"{filename}: [{section}] must be a table")
    try:
        return [compile_phrase(p, macros) for p in _strings(table, key, f"{filename}.{section}")]
    except re.error as exc:
        raise PatternError(f"{filename} [{section}]: {exc}") from exc
    except PatternError as exc:
        raise PatternError(f"{filename} [{section}]: {exc}") from exc


# --- the detector ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    """Everything compiled from the pattern files; shared read-only by all turns."""

    words: Mapping[str, str]
    exclude: tuple[re.Pattern[str], ...]
    categories: tuple[tuple[str, tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]], ...]
    minor: tuple[re.Pattern[str], ...]
    minor_exclude: tuple[re.Pattern[str], ...]


def _strings(table: Mapping[str, object], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PatternError(f"{where}.{key} must be a list of strings")
    return list(value)


class CrisisDetector:
    """Checks each message for crisis signals; build it once with `load()` and share it."""

    def __init__(self, rules: _Rules) -> None:
        self._rules = rules

    @classmethod
    def load(cls, patterns_dir: Path | None = None) -> CrisisDetector:
        """Load and compile every `*.toml` in the directory (default: the bundled patterns)."""
        directory = patterns_dir or _PATTERNS_DIR
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise PatternError(f"no pattern files in {directory}")
        docs = [(f.name, tomllib.loads(f.read_text(encoding="utf-8"))) for f in files]

        words: dict[str, str] = {}
        fuzzy: set[str] = set()
        keep: set[str] = set()  # real words that look like typos ("tables" is not "tablets")
        all_sources: list[str] = []
        for name, doc in docs:
            for typo, fixed in doc.get("words", {}).items():
                key = normalise(typo)
                if not isinstance(fixed, str) or " " in key or not key:
                    raise PatternError(f"{name}: [words] {typo!r} must map one word to text")
                value = normalise(fixed)
                if words.get(key, value) != value:
                    raise PatternError(f"{name}: [words] {typo!r} conflicts with another file")
                words[key] = value
            typos = doc.get("typos", {})
            fuzzy.update(normalise(w) for w in _strings(typos, "fuzzy", f"{name}.typos"))
            keep.update(normalise(w) for w in _strings(typos, "keep", f"{name}.typos"))
            all_sources.extend(doc.get("macros", {}).values())
            for section in ("exclude", "minor", *CATEGORIES):
                table = doc.get(section, {})
                all_sources += _strings(table, "phrases", f"{name}.{section}")
                all_sources += _strings(table, "exclude", f"{name}.{section}")

        # Typo variants of key words, unless the variant is itself a word some pattern names.
        known = _words_in(all_sources) | set(words) | set(words.values()) | keep
        for word in sorted(fuzzy):
            for variant in _typo_variants(word):
                if variant not in known:
                    words.setdefault(variant, word)
        for word in sorted(known):  # dropped final g: "cuttin", "livin", "dyin"
            if word.endswith("ing") and word[:-1] not in known:
                words.setdefault(word[:-1], word)

        exclude: list[re.Pattern[str]] = []
        minor: list[re.Pattern[str]] = []
        minor_exclude: list[re.Pattern[str]] = []
        per_cat: dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]] = {
            c: ([], []) for c in CATEGORIES
        }
        for name, doc in docs:
            macros = doc.get("macros", {})
            unknown = set(doc) - {"words", "typos", "macros", "exclude", "minor", *CATEGORIES}
            if unknown:
                raise PatternError(f"{name}: unknown section(s) {sorted(unknown)}")
            exclude += _compile_all(doc, "exclude", "phrases", name, macros)
            minor += _compile_all(doc, "minor", "phrases", name, macros)
            minor_exclude += _compile_all(doc, "minor", "exclude", name, macros)
            for cat in CATEGORIES:
                per_cat[cat][0].extend(_compile_all(doc, cat, "phrases", name, macros))
                per_cat[cat][1].extend(_compile_all(doc, cat, "exclude", name, macros))

        rules = _Rules(
            words=words,
            exclude=tuple(exclude),
            categories=tuple((c, tuple(per_cat[c][0]), tuple(per_cat[c][1])) for c in CATEGORIES),
            minor=tuple(minor),
            minor_exclude=tuple(minor_exclude),
        )
        return cls(rules)

    def canonical(self, text: str) -> str:
        """normalise() plus the slang and typo word table ("kms" -> "kill myself")."""
        words = self._rules.words
        return " ".join(words.get(w, w) for w in normalise(text).split())

    def detect(self, text: str, previous: str = "") -> Signal | None:
        """The most urgent signal in the message, or in the previous tail joined to it."""
        current = self.canonical(text)
        if not current:
            return None
        found = self._match(current, start=0)
        if found is None and previous:
            before = self.canonical(previous)
            if before:
                # Only matches reaching into the new message count: the tail alone was
                # already checked last turn and must not raise the alarm twice.
                found = self._match(f"{before} {current}", start=len(before) + 1)
        return Signal(found) if found else None

    def _match(self, canonical: str, start: int) -> str | None:
        padded = f" {canonical} "
        boundary = start + 1  # offset of the new message inside `padded`; blanking keeps offsets
        for pattern in self._rules.exclude:
            padded = _blank(pattern, padded)
        for category, patterns, excludes in self._rules.categories:
            text = padded
            for pattern in excludes:
                text = _blank(pattern, text)
            for pattern in patterns:
                if any(m.end() > boundary for m in pattern.finditer(text)):
                    return category
        return None

    def states_minor(self, text: str) -> bool:
        """Whether the person says they are under 18 (so youth services come first)."""
        padded = f" {_normalise(text, leet=False)} "
        for pattern in self._rules.minor_exclude:
            padded = _blank(pattern, padded)
        return any(p.search(padded) for p in self._rules.minor)

    def tail(self, text: str) -> str:
        """The last few normalised words, kept only to catch a phrase split over two messages."""
        return " ".join(self.canonical(text).split()[-TAIL_WORDS:])


def _blank(pattern: re.Pattern[str], padded: str) -> str:
    """Hide an idiom's words without moving anything (offsets matter for split messages)."""
    return pattern.sub(lambda m: re.sub(r"\S", "_", m.group(0)), padded)
