"""Crisis detection: normalise a message, fix slang and typos, blank out idioms, match phrase patterns.

Every free-text message is checked before anything else, so this module is pure and fast: the
pattern files (one per locale, all applied to every message) are parsed and compiled once by
`CrisisDetector.load()`. The phrase syntax is documented at the top of `patterns/en.toml`.

Two layers, two levels. Patterns come first: a phrase under `phrases` is a clear sign (the crisis
reply), one under `possible` a possible sign (one direct check question); a clear match in any
category beats a possible one. When no pattern matched, the statistical layer
(`bot.safety.classifier`, an n-gram model shipped as data) may still flag the message as
possible. A missed crisis is far worse than a false alarm, but idioms must not fire, which is why
every category carries an exclude list and the tests run tables of phrases in both directions.
"""

from __future__ import annotations

import re
import sys
import tomllib
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from bot.safety.normalise import MAX_WINDOWS, _normalise, normalise, windows

CATEGORIES: tuple[str, ...] = (
    "attempt",
    "intent_plan",
    "method",
    "preparatory",
    "active_ideation",
    "passive_wish",
    "self_harm",
    "danger_from_others",
    "abuse",
    "burden",
    "trapped",
    "hopelessness",
)
"""Pattern categories (C-SSRS and common warning signs), most urgent first: the first match wins."""

UNCLEAR = "unclear"
"""The category of a possible sign found by the classifier alone (no pattern matched)."""

TAIL_WORDS = 8
"""How many normalised words of a message are kept to catch a phrase split over two messages."""

_PATTERNS_DIR = Path(__file__).parent / "patterns"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_MIN_FUZZY = 3


class Risk(StrEnum):
    """How sure the detector is: a clear sign gets the crisis reply, a possible one a direct question."""

    POSSIBLE = "possible"
    CLEAR = "clear"


@dataclass(frozen=True)
class Signal:
    """A sign of crisis; the engine answers with care (or asks directly) instead of continuing the flow."""

    category: str
    level: Risk = Risk.CLEAR


class Scorer(Protocol):
    """The statistical layer as the detector sees it (`bot.safety.classifier.Classifier`)."""

    @property
    def threshold(self) -> float:
        """The score at or above which the text counts as a possible crisis."""
        ...

    def score(self, canonical_text: str) -> float:
        """Crisis probability, 0..1, of text already passed through `CrisisDetector.canonical()`."""
        ...


# --- the phrase syntax ---------------------------------------------------------------------


class PatternError(ValueError):
    """A pattern file is malformed; raised at load so a bad edit never reaches production."""


_TOKEN = re.compile(r"\.\.\.|\.\.|[()|?!*$]|@[a-z_]+|[^\s()|?!*$@.]+")


_LETTER_RUN = re.compile(r"([^\W\d_])\1+")


def _squeeze(text: str) -> str:
    """A letter typed twice or more in a row, once ("kill" -> "kil", "diie" -> "die")."""
    return _LETTER_RUN.sub(r"\1", text)


def _literal(word: str) -> str:
    """A word whose letters may each be typed once or twice ("kil", "cutt", "diie").

    Patterns are matched against squeezed text (see `_squeeze`), so each run of a letter is
    written once: far smaller compiled regexes than a `{1,2}` on every letter, same matches.
    """
    return re.escape(_squeeze(word))


Anchor = frozenset[str]
"""Words one of which any match must contain ("kil", squeezed), or prefixes ending in "*" ("kil*")."""

_COMMON_WORDS = """
i im me my a an the to and of in on it is be so for that this you he she they we at with just all not dont
no do de la el que y mi en lo se un una los las por con es ya te le
"""
_COMMON = frozenset(_COMMON_WORDS.split())
"""Words too frequent to be a good anchor: a phrase is anchored on a rarer word when it has one."""


def _rank(anchor: Anchor) -> tuple[bool, int, int]:
    words = [w.rstrip("*") for w in anchor]
    return (not any(w in _COMMON for w in words), min(map(len, words)), -len(anchor))


class _Parser:
    """Recursive-descent compiler from the phrase syntax to a regex over " w1 w2 ... wn ".

    Alongside the regex it finds the phrase's anchor: words one of which every match contains
    (a mandatory word, or one of a mandatory choice), so a message holding none of a group's
    anchors skips that group's regex. None when a phrase has no mandatory word.
    """

    def __init__(self, source: str, macros: Mapping[str, str], depth: int = 0) -> None:
        self.source = source
        self.tokens = _TOKEN.findall(source)
        self.pos = 0
        self.macros = macros
        self.depth = depth
        self.anchor: Anchor | None = None
        leftover = _TOKEN.sub("", source).strip()
        if leftover:
            raise PatternError(f"unexpected {leftover!r} in {source!r}")

    def compile(self) -> str:
        regex, self.anchor = self._alternatives()
        if self.pos != len(self.tokens):
            raise PatternError(f"unbalanced ')' in {self.source!r}")
        return regex

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _alternatives(self) -> tuple[str, Anchor | None]:
        options = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            options.append(self._sequence())
        if len(options) == 1:
            return options[0]
        anchors = [a for _, a in options]
        anchor = None if None in anchors else frozenset().union(*anchors)  # type: ignore[arg-type]
        return "(?:" + "|".join(r for r, _ in options) + ")", anchor

    def _sequence(self) -> tuple[str, Anchor | None]:
        parts: list[tuple[str, Anchor | None]] = []
        while self._peek() not in (None, "|", ")"):
            parts.append(self._item())
        if not parts:
            raise PatternError(f"empty phrase or alternative in {self.source!r}")
        anchors = [a for _, a in parts if a is not None]
        return "".join(r for r, _ in parts), max(anchors, key=_rank) if anchors else None

    def _item(self) -> tuple[str, Anchor | None]:
        token = self._peek()
        assert token is not None
        self.pos += 1
        anchor: Anchor | None = None
        if token == "!":
            if self._peek() in (None, "|", ")"):
                raise PatternError(f"'!' needs an item after it in {self.source!r}")
            return f"(?!{self._item()[0]})", None
        if token == "..":
            atom = r"(?:\S+ ){0,2}"
        elif token == "...":
            atom = r"(?:\S+ ){0,4}"
        elif token == "(":
            inner, anchor = self._alternatives()
            atom = "(?:" + inner + ")"
            if self._peek() != ")":
                raise PatternError(f"missing ')' in {self.source!r}")
            self.pos += 1
        elif token == "$":
            return "$", None
        elif token.startswith("@"):
            name = token[1:]
            if name not in self.macros:
                raise PatternError(f"unknown macro @{name} in {self.source!r}")
            if self.depth > 8:
                raise PatternError(f"macros nest too deeply at @{name}")
            macro = _Parser(self.macros[name], self.macros, self.depth + 1)
            atom = "(?:" + macro.compile() + ")"
            anchor = macro.anchor
        elif token in ("|", ")", "?", "*", "!"):
            raise PatternError(f"unexpected {token!r} in {self.source!r}")
        else:
            atom = _literal(token)
            word = _squeeze(token)
            if self._peek() == "*":
                self.pos += 1
                atom += r"\S*"
                word += "*"
            atom += " "
            anchor = frozenset({word})
        if self._peek() == "?":
            self.pos += 1
            return f"(?:{atom})?", None
        return atom, anchor


def compile_phrase(source: str, macros: Mapping[str, str] | None = None) -> re.Pattern[str]:
    """Compile one phrase; it matches whole words of normalised text padded with spaces."""
    return re.compile("(?<= )" + _Parser(source, macros or {}).compile())


def _words_in(sources: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for source in sources:
        words.update(t for t in _TOKEN.findall(source) if t[0].isalnum())
    return words


def typo_variants(word: str) -> set[str]:
    """Every spelling one edit away (insertion, deletion, substitution, adjacent swap), 3+ letters.

    Words shorter than three letters get none: too many real words sit one letter away.
    """
    if len(word) < _MIN_FUZZY:
        return set()
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {a + b[1:] for a, b in splits if b}
    variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    variants |= {a + c + b[1:] for a, b in splits if b for c in _ALPHABET}
    variants |= {a + c + b for a, b in splits for c in _ALPHABET}
    variants.discard(word)
    return {v for v in variants if len(v) >= _MIN_FUZZY}


def _strings(table: Mapping[str, object], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PatternError(f"{where}.{key} must be a list of strings")
    return list(value)


def _section(doc: Mapping[str, object], name: str, filename: str) -> Mapping[str, object]:
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise PatternError(f"{filename}: [{name}] must be a table")
    return table


# --- the compiled rules ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase as written in a pattern file: where it came from and what it means."""

    category: str
    level: Risk
    source: str
    filename: str


@dataclass(frozen=True)
class _Group:
    """All phrases of one category at one level, compiled into a single regex, one group per phrase."""

    category: str
    level: Risk
    regex: re.Pattern[str]
    sources: bytes
    """The phrases as written, one per line, zlib-compressed: only `explain` reads them."""
    filenames: tuple[str, ...]
    exclude: re.Pattern[str] | None
    anchor: Anchor | None
    """Every phrase's anchor words; a message with none of them cannot match (None: always try)."""

    def phrase(self, index: int) -> Phrase:
        """The phrase behind the regex's group `index + 1`, as written in its file."""
        source = zlib.decompress(self.sources).decode("utf-8").split("\n")[index]
        return Phrase(self.category, self.level, source, self.filenames[index])


_Hit = tuple[_Group, int, str]
"""A match: its group, the phrase's index in it, and the words it matched."""


class _Regex(str):
    """A compiled phrase (regex text) that remembers where it was written, and its anchor."""

    label: str = ""
    anchor: Anchor | None = None


def _regex_or_error(source: str, parts: Iterable[str]) -> re.Pattern[str]:
    """Compile a merged regex; on failure, name the phrase that broke it.

    Phrases are compiled only merged (one regex per list), never one by one: each separate
    compile would also sit in the `re` module's cache for the life of the process.
    """
    try:
        return re.compile(source)
    except re.error:
        for part in parts:
            try:
                re.compile(part)
            except re.error as exc:
                raise PatternError(f"{getattr(part, 'label', '')}: {exc}") from exc
        raise


def _union(regexes: list[str]) -> re.Pattern[str] | None:
    if not regexes:
        return None
    return _regex_or_error("(?<= )(?:" + "|".join(f"(?:{r})" for r in regexes) + ")", regexes)


def _one_edit(typed: str, word: str) -> bool:
    """Whether `typed` is `word` with one letter added, dropped, changed (to a-z) or two swapped."""
    if typed == word or abs(len(typed) - len(word)) > 1:
        return False
    i = 0
    shorter = min(len(typed), len(word))
    while i < shorter and typed[i] == word[i]:
        i += 1
    if len(typed) == len(word):
        if typed[i + 1 :] == word[i + 1 :]:
            return typed[i] in _ALPHABET
        return typed[i + 2 :] == word[i + 2 :] and typed[i] == word[i + 1] and typed[i + 1] == word[i]
    if len(typed) > len(word):
        return typed[i] in _ALPHABET and typed[i + 1 :] == word[i:]
    return typed[i:] == word[i + 1 :]


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


@dataclass(frozen=True)
class _Typos:
    """Typos of the key words, found on demand instead of from a table of every variant.

    A typed word of 3+ letters is rewritten to the one key word ([typos] fuzzy) it is one edit
    from, unless it is a known word (the guard list, any word a pattern names, the slang table)
    or one edit from two key words. The index maps each key word, and each spelling of it with
    one letter dropped, to the key words: every key word one edit from a typed word is found
    under the typed word or under one of its own one-letter deletions (then checked exactly).
    """

    index: Mapping[str, tuple[str, ...]]
    known: frozenset[str]
    dropped_g: Mapping[str, str]

    @classmethod
    def build(cls, fuzzy: Iterable[str], known: Iterable[str], dropped_g: Mapping[str, str]) -> _Typos:
        index: dict[str, set[str]] = {}
        for word in fuzzy:
            if len(word) < _MIN_FUZZY:
                continue
            for key in (word, *_deletions(word)):
                index.setdefault(key, set()).add(word)
        return cls(
            index={k: tuple(sorted(v)) for k, v in index.items()},
            known=frozenset(known),
            dropped_g=dict(dropped_g),
        )

    def fix(self, typed: str) -> str | None:
        """The key word `typed` is a slip of, or None."""
        if len(typed) < _MIN_FUZZY or typed in self.known:
            return self.dropped_g.get(typed)
        index = self.index
        found: set[str] = set()
        for key in (typed, *_deletions(typed)):
            for word in index.get(key, ()):
                if _one_edit(typed, word):
                    found.add(word)
        if len(found) == 1:
            return found.pop()
        return self.dropped_g.get(typed)


@dataclass(frozen=True)
class _Rules:
    """Everything compiled from the pattern files; shared read-only by all turns."""

    words: Mapping[str, str]
    typos: _Typos
    exclude: re.Pattern[str] | None
    groups: tuple[_Group, ...]
    minor: re.Pattern[str] | None
    minor_exclude: re.Pattern[str] | None
    guard: frozenset[str]
    downgrade: re.Pattern[str] | None
    downgrade_cancel: re.Pattern[str] | None
    others: re.Pattern[str] | None
    fiction: re.Pattern[str] | None
    settled: re.Pattern[str] | None
    over: re.Pattern[str] | None


def _compile(source: str, macros: Mapping[str, str], where: str) -> str:
    parser = _Parser(source, macros)
    try:
        regex = _Regex(parser.compile())
    except PatternError as exc:
        raise PatternError(f"{where}: {exc}") from exc
    regex.label = f"{where}: in {source!r}"
    regex.anchor = parser.anchor
    return regex


HARM_FROM_OTHERS = frozenset({"abuse", "danger_from_others"})
"""Harm done by someone else: never softened by others' words; a possible sign asks "are you safe?"."""
_SETTLEABLE = frozenset(
    {"attempt", "active_ideation", "passive_wish", "self_harm", "burden", "trapped", "hopelessness"}
)
"""Signs that can belong to a past that is over (never a method, a plan, preparation or harm from others)."""
_DOWNGRADE_KEYS = {"others", "fiction", "settled", "over"}
_SECTIONS = {"words", "typos", "macros", "exclude", "downgrade", "minor", *CATEGORIES}
_KEYS = {"phrases", "possible", "exclude"}


def _build_rules(directory: Path, *, patterns: bool) -> _Rules:
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise PatternError(f"no pattern files in {directory}")
    docs: list[tuple[str, dict[str, object]]] = []
    for f in files:
        try:
            docs.append((f.name, tomllib.loads(f.read_text(encoding="utf-8"))))
        except tomllib.TOMLDecodeError as exc:
            raise PatternError(f"{f.name}: {exc}") from exc

    words: dict[str, str] = {}
    fuzzy: set[str] = set()
    guard: set[str] = set()  # real words one edit from a key word ("dye", "wife"): never rewritten
    all_sources: list[str] = []
    for name, doc in docs:
        unknown = set(doc) - _SECTIONS
        if unknown:
            raise PatternError(f"{name}: unknown section(s) {sorted(unknown)}")
        for typo, fixed in _section(doc, "words", name).items():
            key = normalise(typo)
            if not isinstance(fixed, str) or " " in key or not key:
                raise PatternError(f"{name}: [words] {typo!r} must map one word to text")
            value = normalise(fixed)
            if words.get(key, value) != value:
                raise PatternError(f"{name}: [words] {typo!r} conflicts with another file")
            words[key] = value
        typo_table = _section(doc, "typos", name)
        fuzzy.update(normalise(w) for w in _strings(typo_table, "fuzzy", f"{name}.typos"))
        guard.update(normalise(w) for w in _strings(typo_table, "keep", f"{name}.typos"))
        macro_table = _section(doc, "macros", name)
        if not all(isinstance(v, str) for v in macro_table.values()):
            raise PatternError(f"{name}: [macros] values must be strings")
        all_sources.extend(str(v) for v in macro_table.values())
        for section in ("exclude", "downgrade", "minor", *CATEGORIES):
            table = _section(doc, section, name)
            extra = set(table) - _KEYS - (_DOWNGRADE_KEYS if section == "downgrade" else set())
            if extra:
                raise PatternError(f"{name}: [{section}] unknown key(s) {sorted(extra)}")
            for key in (*_KEYS, *_DOWNGRADE_KEYS):
                all_sources += _strings(table, key, f"{name}.{section}")

    # Typo variants of the words that carry the meaning, unless the variant is a real word (the
    # guard list), a word some pattern names, or one edit from two different key words.
    known = _words_in(all_sources) | set(words) | set(words.values()) | guard | fuzzy
    dropped_g = {  # dropped final g: "cuttin", "livin", "dyin"
        word[:-1]: word for word in sorted(known) if word.endswith("ing") and word[:-1] not in known
    }
    typos = _Typos.build(fuzzy, known, dropped_g)

    exclude: list[str] = []
    minor: list[str] = []
    minor_exclude: list[str] = []
    downgrade: list[str] = []
    downgrade_cancel: list[str] = []
    others: list[str] = []
    fiction: list[str] = []
    settled: list[str] = []
    over: list[str] = []
    per_group: dict[tuple[str, Risk], tuple[list[str], list[tuple[str, str]]]] = {
        (c, level): ([], []) for level in (Risk.CLEAR, Risk.POSSIBLE) for c in CATEGORIES
    }
    per_exclude: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for name, doc in docs:
        macros: dict[str, str] = {k: str(v) for k, v in _section(doc, "macros", name).items()}
        for source in _strings(_section(doc, "exclude", name), "phrases", f"{name}.exclude"):
            exclude.append(_compile(source, macros, f"{name} [exclude]"))
        down = _section(doc, "downgrade", name)
        downgrade += [_compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "phrases", name)]
        downgrade_cancel += [
            _compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "exclude", name)
        ]
        others += [_compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "others", name)]
        fiction += [_compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "fiction", name)]
        settled += [_compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "settled", name)]
        over += [_compile(s, macros, f"{name} [downgrade]") for s in _strings(down, "over", name)]
        minor_table = _section(doc, "minor", name)
        minor += [_compile(s, macros, f"{name} [minor]") for s in _strings(minor_table, "phrases", name)]
        minor_exclude += [
            _compile(s, macros, f"{name} [minor]") for s in _strings(minor_table, "exclude", name)
        ]
        if not patterns:
            continue
        for cat in CATEGORIES:
            table = _section(doc, cat, name)
            for key, level in (("phrases", Risk.CLEAR), ("possible", Risk.POSSIBLE)):
                regexes, phrases = per_group[(cat, level)]
                for source in _strings(table, key, f"{name}.{cat}"):
                    regexes.append(_compile(source, macros, f"{name} [{cat}]"))
                    phrases.append((" ".join(source.split()), name))
            per_exclude[cat] += [
                _compile(s, macros, f"{name} [{cat}]") for s in _strings(table, "exclude", name)
            ]

    groups: list[_Group] = []
    for (cat, level), (regexes, phrases) in per_group.items():
        if not regexes:
            continue
        # One plain group per phrase (they hold no groups of their own), found by `lastindex`:
        # lighter than named groups, whose name table each compiled regex would keep.
        regex = _regex_or_error("(?<= )(?:" + "|".join(f"({r})" for r in regexes) + ")", regexes)
        anchors = [r.anchor for r in regexes if isinstance(r, _Regex)]
        anchor = None if None in anchors else frozenset().union(*anchors)  # type: ignore[arg-type]
        sources = zlib.compress("\n".join(source for source, _ in phrases).encode("utf-8"))
        filenames = tuple(sys.intern(name) for _, name in phrases)
        groups.append(_Group(cat, level, regex, sources, filenames, _union(per_exclude[cat]), anchor))
    return _Rules(
        words=words,
        typos=typos,
        exclude=_union(exclude),
        groups=tuple(groups),
        minor=_union(minor),
        minor_exclude=_union(minor_exclude),
        guard=frozenset(guard),
        downgrade=_union(downgrade),
        downgrade_cancel=_union(downgrade_cancel),
        others=_union(others),
        fiction=_union(fiction),
        settled=_union(settled),
        over=_union(over),
    )


# --- what happened, for `keepgoing safety explain` -----------------------------------------------


@dataclass(frozen=True)
class Rewrite:
    """One word changed before matching: slang from [words] or a typo of a key word."""

    original: str
    replacement: str
    kind: str  # "word" or "typo"


@dataclass(frozen=True)
class Explanation:
    """Every step of one decision, for the operator's terminal only (never logged)."""

    normalised: str
    canonical: str
    rewrites: tuple[Rewrite, ...]
    phrase: Phrase | None
    matched: str
    downgraded: bool
    settled: bool
    score: float | None
    threshold: float | None
    signal: Signal | None
    layers: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Reading:
    """What both layers made of one message: the signal, the phrase behind it, whether a window
    told of a crisis that is over, and the classifier's score when it was consulted."""

    signal: Signal | None = None
    found: tuple[_Hit, Risk] | None = None
    settled: bool = False
    score: float | None = None


# --- the detector ---------------------------------------------------------------------------


class CrisisDetector:
    """Checks each message for crisis signals; build it once with `load()` and share it."""

    def __init__(self, rules: _Rules, classifier: Scorer | None = None) -> None:
        self._rules = rules
        self._classifier = classifier

    @classmethod
    def load(
        cls,
        patterns_dir: Path | None = None,
        *,
        classifier: bool | Scorer = True,
        patterns: bool = True,
    ) -> CrisisDetector:
        """Compile every `*.toml` in the directory (default: the bundled patterns).

        `classifier=True` loads the shipped statistical layer when its module and weights exist;
        False leaves it out, or pass a ready scorer. `patterns=False` keeps only the word tables
        (and the minor check), so the classifier can be measured alone.
        """
        rules = _build_rules(patterns_dir or _PATTERNS_DIR, patterns=patterns)
        scorer: Scorer | None
        if classifier is True:
            scorer = _load_classifier()
        elif classifier is False:
            scorer = None
        else:
            scorer = classifier
        return cls(rules, scorer)

    @property
    def has_classifier(self) -> bool:
        """Whether the statistical layer is in use."""
        return self._classifier is not None

    @property
    def guard(self) -> frozenset[str]:
        """Real words one edit from a key word, which are never rewritten as typos."""
        return self._rules.guard

    def canonical(self, text: str) -> str:
        """normalise() plus the slang and typo word tables ("kms" -> "kill myself")."""
        return self._rewrite(normalise(text))

    def _rewrite(self, normalised: str) -> str:
        words, fix = self._rules.words, self._rules.typos.fix
        out = []
        for w in normalised.split():
            replacement = words.get(w)
            if replacement is None:
                replacement = fix(w) or w
            out.append(replacement)
        return " ".join(out)

    def detect(self, text: str, previous: str = "") -> Signal | None:
        """The most urgent signal in the message, or in the previous tail joined to it."""
        return self._read(self._rewrite(normalise(text)), previous).signal

    def _read(self, current: str, previous: str) -> _Reading:
        """Both layers over canonical text. A long text is read in windows (`windows`): a window
        that tells of a crisis as over settles only itself, and "again" cancels a past marker
        only near the sign, so one part of a story does not decide for another; the most urgent
        window counts."""
        if not current:
            return _Reading()
        best: tuple[_Hit, Risk] | None = None
        open_parts: list[str] = []
        settled = False
        parts = windows(current)
        story = self._padded(_squeeze(current)) if len(parts) > 1 else ""  # once per message
        for index, part in enumerate(parts):
            squeezed = _squeeze(part)
            if self._settled(squeezed):
                settled = True
                continue
            open_parts.append(part)
            found = self._find(squeezed, previous if index == 0 else "", story)
            if found is not None and (best is None or self._urgency(found) > self._urgency(best)):
                best = found
        if best is not None:
            return _Reading(Signal(best[0][0].category, best[1]), best, settled)
        if self._classifier is None or not open_parts:
            return _Reading(settled=settled)
        score = max(self._classifier.score(part) for part in open_parts[:MAX_WINDOWS])
        signal = Signal(UNCLEAR, Risk.POSSIBLE) if score >= self._classifier.threshold else None
        return _Reading(signal, None, settled, score)

    def _urgency(self, found: tuple[_Hit, Risk]) -> tuple[bool, int]:
        """A clear sign before a possible one, then the more urgent group (the groups' order)."""
        return found[1] is Risk.CLEAR, -self._rules.groups.index(found[0][0])

    def explain(self, text: str, previous: str = "") -> Explanation:
        """What detect() does with this text, step by step (same decision, more detail)."""
        normalised = normalise(text)
        words, fix = self._rules.words, self._rules.typos.fix
        rewrites: list[Rewrite] = []
        for w in normalised.split():
            if w in words:
                rewrites.append(Rewrite(w, words[w], "word"))
            elif (fixed := fix(w)) is not None:
                rewrites.append(Rewrite(w, fixed, "typo"))
        current = self._rewrite(normalised)
        reading = self._read(current, previous)
        squeezed = _squeeze(current)
        # Beyond the decision: the phrase a settled story matched, and the score beside a phrase.
        found = reading.found or (self._find(squeezed, previous) if current else None)
        score = reading.score
        threshold = None
        if self._classifier is not None and current:
            if score is None:
                score = self._classifier.score(current)
            threshold = self._classifier.threshold
        layers = ("patterns",) * bool(self._rules.groups) + ("classifier",) * (self._classifier is not None)
        return Explanation(
            normalised=normalised,
            canonical=current,
            rewrites=tuple(rewrites),
            phrase=found[0][0].phrase(found[0][1]) if found else None,
            matched=found[0][2] if found else "",
            downgraded=bool(found and found[1] is not found[0][0].level),
            settled=reading.settled,
            score=score,
            threshold=threshold,
            signal=reading.signal,
            layers=layers,
        )

    def _find(self, squeezed: str, previous: str, story: str = "") -> tuple[_Hit, Risk] | None:
        """The match in the message, or else in the previous tail joined to it.

        Only matches reaching into the new message count: the tail alone was already checked
        last turn and must not raise the alarm twice. `story` is the whole message as `_padded`
        makes it, when `squeezed` is one window of it.
        """
        found = self._match(squeezed, 0, story)
        if found is None and previous:
            before = _squeeze(self.canonical(previous))
            if before:
                found = self._match(f"{before} {squeezed}", len(before) + 1, story)
        return found

    def _match(self, squeezed: str, start: int, story: str = "") -> tuple[_Hit, Risk] | None:
        """The first phrase matching (most urgent category, clear before possible), its words, its level.

        `squeezed` is canonical text with its letter runs squeezed (see `_squeeze`), as every
        pattern method below expects; `start` is where the new message begins in it.
        """
        found = next(self._matches(squeezed, start), None)
        if found is None:
            return None
        near = self._padded(squeezed)
        return found, self._level(found[0], near, story or near)

    def _padded(self, squeezed: str) -> str:
        """Squeezed text between spaces, idioms blanked ("not kidding" is no joke marker)."""
        padded = f" {squeezed} "
        if self._rules.exclude is not None:
            padded = _blank(self._rules.exclude, padded)
        return padded

    def _matches(self, squeezed: str, start: int) -> Iterator[_Hit]:
        """The first matching phrase of each group, most urgent first, with its words."""
        padded = self._padded(squeezed)
        boundary = start + 1  # offset of the new message inside `padded`; blanking keeps offsets
        blanked: dict[str, str] = {}
        present = _anchor_keys(padded)
        for group in self._rules.groups:
            if group.anchor is not None and group.anchor.isdisjoint(present):
                continue  # none of its words is here: its regex cannot match
            text = blanked.get(group.category)
            if text is None:
                text = _blank(group.exclude, padded) if group.exclude is not None else padded
                blanked[group.category] = text
            for m in group.regex.finditer(text):
                if m.end() > boundary:
                    yield group, (m.lastindex or 1) - 1, m.group(0).strip()
                    break

    def _settled(self, squeezed: str) -> bool:
        """Whether the message tells of a crisis that is over ("years ago I tried; I'm safe now").

        It needs words saying it is over ([downgrade] `over`: "that passed"), or saying they are
        safe now (`settled`) beside a past marker; nothing showing it is happening again (the
        `exclude` list); no sign told after those words; and only signs that can be past: a
        method, a plan, preparation or harm from others keep their answer. Then neither layer
        answers: asking "are you having thoughts of ending your life?" of someone telling how
        they recovered is not care.
        """
        rules = self._rules
        padded = f" {squeezed} "
        if rules.downgrade_cancel is not None and rules.downgrade_cancel.search(padded):
            return False
        found = rules.over.search(padded) if rules.over is not None else None
        if found is None and rules.settled is not None and rules.downgrade is not None:
            now = rules.settled.search(padded)
            if now is not None and _beyond(rules.downgrade, padded, now.start(), now.end()):
                found = now
        if found is None:
            return False
        if next(self._matches(padded[found.end() - 1 :].strip(), 0), None) is not None:
            return False  # a sign told after "I'm doing well now" is not over
        rest = padded[: found.start()] + "_" * (found.end() - found.start() - 1) + padded[found.end() - 1 :]
        return all(group.category in _SETTLEABLE for group, _, _ in self._matches(rest.strip(), 0))

    def _level(self, group: _Group, near: str, story: str) -> Risk:
        """A clear sign in a message about the past or about someone else becomes a possible one.

        Past markers ("years ago") anywhere in the message (`story`) count unless the words
        near the sign (`near`, its window of a long message) say it is happening now ("again");
        someone else's words ("my friend said") never soften abuse or danger from others, where
        the other person is the one doing harm; a story plainly told as fiction ("the plot of this
        show") softens every sign. Softening only ever turns the crisis reply into the question.
        """
        rules = self._rules
        if group.level is not Risk.CLEAR:
            return group.level
        about_past = rules.downgrade is not None and rules.downgrade.search(story)
        if about_past and (rules.downgrade_cancel is None or not rules.downgrade_cancel.search(near)):
            return Risk.POSSIBLE
        if group.category not in HARM_FROM_OTHERS and rules.others is not None and rules.others.search(story):
            return Risk.POSSIBLE
        if rules.fiction is not None and rules.fiction.search(story):
            return Risk.POSSIBLE
        return Risk.CLEAR

    def states_minor(self, text: str) -> bool:
        """Whether the person says they are under 18 (so youth services come first)."""
        if self._rules.minor is None:
            return False
        padded = f" {_squeeze(_normalise(text, leet=False))} "
        if self._rules.minor_exclude is not None:
            padded = _blank(self._rules.minor_exclude, padded)
        return self._rules.minor.search(padded) is not None

    def tail(self, text: str) -> str:
        """The last few normalised words, kept only to catch a phrase split over two messages."""
        return " ".join(self.canonical(text).split()[-TAIL_WORDS:])


def _beyond(pattern: re.Pattern[str], padded: str, start: int, end: int) -> bool:
    """Whether the pattern matches anywhere but wholly inside `padded[start:end]` (overlaps count)."""
    first = pattern.search(padded)
    if first is not None and first.start() < start:
        return True
    starts = [start] + [i + 1 for i in range(start, end) if padded[i] == " "]
    return any((m := pattern.search(padded, pos)) is not None and m.end() > end for pos in starts)


def _anchor_keys(padded: str) -> set[str]:
    """What anchors a text can satisfy: its words, and every prefix of each followed by "*"."""
    keys: set[str] = set()
    for word in padded.split():
        keys.add(word)
        keys.update(word[:i] + "*" for i in range(1, len(word) + 1))
    return keys


def _blank(pattern: re.Pattern[str], padded: str) -> str:
    """Hide an idiom's words without moving anything (offsets matter for split messages)."""
    return pattern.sub(lambda m: re.sub(r"\S", "_", m.group(0)), padded)


def _load_classifier() -> Scorer | None:
    """The shipped statistical layer, or None while its module or weights are not there."""
    try:
        from bot.safety.classifier import Classifier
    except ImportError:
        return None
    try:
        return Classifier.load()
    except FileNotFoundError:
        return None
