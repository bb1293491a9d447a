"""Questions answered from a small, sourced knowledge base per locale (`messages/<locale>/knowledge.toml`).

Retrieval is BM25 (the rank-bm25 library) over each entry's example questions (counted twice),
keywords and answer. Text is folded (case, accents, punctuation), synonyms and acronyms become one
word ("PE" = "prolonged exposure"), words become their Snowball stems (the snowballstemmer library)
and the locale's stop words are dropped, and so are its stop phrases, runs of words that say nothing about
the question ("what is it called", "cómo se llama", "good afternoon"). A number followed by one of the
locale's `ages` words ("11 year old", "45 years old") becomes a child's or an adult's age, so a grown-up's
age does not read as a question about children's therapy, nor "old" as a former therapist.

A best score is only trusted when it explains enough of the question: it is normalised by the most
the question's words could score (each word's idf times k1 + 1; a word the base has never seen counts
as UNSEEN times the rarest word), and below THRESHOLD `ask` returns None, so the conversation can say honestly
that it doesn't know rather than give a wrong answer. A question must also hold at least one of the
locale's `domain_words` (therapy, trauma, PTSD…), or one of its `context_words` (session, cost,
homework…) among words the base nearly all knows (UNSEEN_SHARE), so small talk that happens to share a
word with an answer ("good evening", "my algebra homework", "how long does pasta take") is not answered.
A listed phrase ("mental health", "sliding scale") counts only as that run of words, and a longer
question mostly of words the base has never seen (FOREIGN_SHARE) is about something else even with a
domain word in it ("the grounding wire in my electrical panel"). A question holding one of the locale's
`elsewhere_words` (a pet, a vet, a CPT billing code, .NET) is about something else unless it also holds one
of `elsewhere_unless` (therapy, a therapist, PTSD); one holding one of `elsewhere_always` (a TV series on a
streaming service, what a psychologist earns, a car's clutch) is about something else even then ("where can I
watch the series In Treatment on HBO", "my car needs couples therapy, the clutch and the gearbox..."). An
opener that breaks in at the start ("wait, what's CPT?", "espera, ¿qué es...?") is dropped when a comma or a
question word follows it, and a closer, a filler that ends a sentence after a comma ("..., pe.", "..., po"),
is dropped there, so a Peruvian "pe" is no PE. In a long message of several sentences (ASKED_MIN), the
sentences that ask (with a question mark, else the last) are searched once more when they name therapy
themselves, so a long story does not drown out the question at its end. A reply reads as a question with a
question mark, a first question word, or anywhere one of the locale's `asking_phrases`, the ways of asking
without a question mark after venting ("..., I was wondering if CPT would suit me", "me pregunto si...").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import snowballstemmer
from rank_bm25 import BM25Okapi

from bot.knowledge.text import DEFAULT_LOCALE, MESSAGES_DIR, base_locale, fold, stemmer, unaccent

MAX_ANSWER = 600
THRESHOLD = 0.15
"""Normalised score (0..1) a best match needs before its answer is given (a file may set its own)."""
QUESTION_WEIGHT = 0.8
"""Share of the score from the example questions and keywords; the rest from the answer text."""
UNSEEN = 0.4
"""A word the index has never seen counts as this share of its rarest word's idf."""
UNSEEN_SHARE = 0.17
"""A question with a context word but no domain word may hold at most this share (one word in six) of
words the base has never seen, numbers aside: a long message about the waiting list with one odd word in
it is about therapy; "the waiting list for a new passport" is not."""
FOREIGN_SHARE = 0.5
"""A question of at least FOREIGN_MIN words, more than this share of them (numbers aside) never seen by the
base, is about something else even with a domain word in it: "the grounding wire in my electrical panel",
"my dog is on meds for arthritis"."""
FOREIGN_MIN = 5
ASKED_WEIGHT = 1
"""In a long message of several sentences, the sentences that ask (those with a question mark, or else the
last one) are searched this many times more, so a long story before the question does not drown it out;
only when they name therapy themselves (a domain or context word), since "could you explain what it
involves?" leaves the subject in the story."""
ASKED_MIN = 160
"""Characters a message needs before its asking sentences weigh more: a short one is all question."""
K1 = 1.2
B = 0.5
_QUESTION_MARKS = ("?", "¿")


class KnowledgeError(ValueError):
    """A knowledge file is malformed; raised at load so a broken edit is caught at start-up."""


@dataclass(frozen=True)
class Entry:
    """One question people ask, answered in a few plain sentences, and what the answer rests on."""

    id: str
    questions: tuple[str, ...]
    answer: str
    source: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """A search result: the entry and how well it explains the question (0..1)."""

    entry: Entry
    score: float


@dataclass(frozen=True)
class Ages:
    """How a locale says an age ("years old") and the search words a child's and an adult's age become."""

    words: tuple[str, ...]
    child: str
    adult: str
    adult_from: int = 18


class Tokeniser:
    """One locale's way of turning text into search words.

    Text is folded and split, every word is stemmed (Snowball), and then synonym forms are matched
    longest first, as typed or as stems, and become their one canonical word, so a form listed once
    also finds its plurals and tenses ("counsellor" finds "counsellors"). A stop phrase is matched the
    same way, as one of those forms, and dropped as a whole ("se llama" is no call, "me habló de" no
    talking). A number followed by an age form ("years old") becomes the child or the adult word of `ages`.
    Last, stop words (judged on the word as typed) are dropped; a canonical word never is.
    """

    def __init__(
        self,
        stop_words: Sequence[str],
        synonyms: Mapping[str, Sequence[str]],
        language: str | None = None,
        stop_phrases: Sequence[str] = (),
        ages: Ages | None = None,
        openers: Sequence[str] = (),
        question_words: Sequence[str] = (),
        closers: Sequence[str] = (),
    ) -> None:
        self._stem = stemmer(language)
        self._opener = _opener_regex(openers, question_words)
        self._closer = _closer_regex(closers)
        self._ages = ages
        self._age_forms = (
            frozenset(tuple(fold(f, squeeze=False).split()) for f in ages.words) if ages else frozenset()
        )
        self._age_lengths = sorted({len(f) for f in self._age_forms}, reverse=True)
        self._stop = frozenset(fold(w, squeeze=False) for w in stop_words)
        # Forms as typed, and as stems; a stem two keys (or a key and a stop word) share is ambiguous
        # ("medic" is both "medicamento" and "médico", "par" both "parar" and "para"): only typed forms then.
        self._exact: dict[tuple[str, ...], str] = {}
        by_stem: dict[tuple[str, ...], set[str]] = {}
        groups = [
            (fold(key, squeeze=False).replace(" ", ""), (key, *forms)) for key, forms in synonyms.items()
        ]
        groups.append(("", tuple(stop_phrases)))  # the empty canonical word: dropped
        for canon, forms in groups:
            for form in forms:
                words = tuple(fold(form, squeeze=False).split())
                if words:
                    self._exact.setdefault(words, canon)
                    by_stem.setdefault(tuple(self._stems(words)), set()).add(canon)
        stop_stems = {(s,) for s in self._stems(sorted(self._stop))}
        self._by_stem = {
            stems: next(iter(canons))
            for stems, canons in by_stem.items()
            if len(canons) == 1 and stems not in stop_stems
        }
        self._longest = max((len(f) for f in self._exact), default=0)

    def _stems(self, words: Sequence[str]) -> list[str]:
        return [w if w.isdigit() else self._stem(w) for w in words]

    def __call__(self, text: str) -> list[str]:
        if self._opener is not None:
            text = self._opener.sub("", unaccent(text), count=1)
        if self._closer is not None:
            text = self._closer.sub("", unaccent(text))
        words = fold(text, squeeze=False).split()
        stems = self._stems(words)
        out: list[str] = []
        i = 0
        while i < len(words):
            if self._ages and words[i].isdigit():
                age = next(
                    (n for n in self._age_lengths if tuple(words[i + 1 : i + 1 + n]) in self._age_forms), 0
                )
                if age:
                    out.append(
                        self._ages.child if int(words[i]) < self._ages.adult_from else self._ages.adult
                    )
                    i += 1 + age
                    continue
            for n in range(min(self._longest, len(words) - i), 0, -1):
                canon = self._exact.get(tuple(words[i : i + n]))
                if canon is None:
                    canon = self._by_stem.get(tuple(stems[i : i + n]))
                if canon is not None:
                    if canon:
                        out.append(canon)
                    i += n
                    break
            else:
                if words[i] not in self._stop:
                    out.append(stems[i])
                i += 1
        return out


class KnowledgeBase:
    """One locale's entries and their BM25 index, built once."""

    def __init__(
        self,
        locale: str,
        entries: Sequence[Entry],
        tokenise: Tokeniser,
        question_words: Sequence[str],
        domain_words: Sequence[str] = (),
        threshold: float = THRESHOLD,
        context_words: Sequence[str] = (),
        elsewhere_words: Sequence[str] = (),
        elsewhere_unless: Sequence[str] = (),
        elsewhere_always: Sequence[str] = (),
        asking_phrases: Sequence[str] = (),
    ) -> None:
        if not entries:
            raise KnowledgeError(f"{locale}: no entries")
        self.locale = locale
        self.entries = tuple(entries)
        self._by_id = {e.id: e for e in self.entries}
        if len(self._by_id) != len(self.entries):
            raise KnowledgeError(f"{locale}: duplicate entry ids")
        self.tokenise = tokenise
        self._question_words = tuple(fold(w, squeeze=False) for w in question_words if fold(w))
        self._asking_phrases = tuple(fold(p, squeeze=False) for p in asking_phrases if fold(p))
        # A listed word that stays several search words ("mental health", "sliding scale") counts only
        # as that run of words: "health" or "sliding" alone is no sign of therapy.
        self._domain = _phrases(domain_words, tokenise)
        self._context = _phrases(context_words, tokenise) - self._domain
        self._elsewhere = _phrases(elsewhere_words, tokenise)
        self._elsewhere_unless = _phrases(elsewhere_unless, tokenise)
        self._elsewhere_always = _phrases(elsewhere_always, tokenise)
        self.threshold = threshold
        self._indexes = (
            (QUESTION_WEIGHT, self._index([[*e.questions, *e.keywords] for e in self.entries])),
            (1 - QUESTION_WEIGHT, self._index([[e.answer] for e in self.entries])),
        )
        self._vocabulary = frozenset(t for _, (bm25, _) in self._indexes for t in bm25.idf)

    def _index(self, parts: Sequence[Sequence[str]]) -> tuple[BM25Okapi, float]:
        bm25 = BM25Okapi([[t for p in doc for t in self.tokenise(p)] for doc in parts], k1=K1, b=B)
        return bm25, max(bm25.idf.values())

    @classmethod
    def load(cls, locale: str, root: Path | None = None) -> KnowledgeBase:
        """Read `messages/<locale>/knowledge.toml` (raises KnowledgeError or FileNotFoundError)."""
        path = (root or MESSAGES_DIR) / locale / "knowledge.toml"
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        tokenise = Tokeniser(
            _strings(doc, "stop_words", path),
            doc.get("synonyms", {}),
            _language(doc, path),
            _strings(doc, "stop_phrases", path),
            _ages(doc, path),
            _strings(doc, "openers", path),
            _strings(doc, "question_words", path),
            _strings(doc, "closers", path),
        )
        entries = [_entry(raw, path, i) for i, raw in enumerate(doc.get("entry", []))]
        return cls(
            locale,
            entries,
            tokenise,
            _strings(doc, "question_words", path),
            _strings(doc, "domain_words", path),
            _threshold(doc, path),
            _strings(doc, "context_words", path),
            _strings(doc, "elsewhere_words", path),
            _strings(doc, "elsewhere_unless", path),
            _strings(doc, "elsewhere_always", path),
            _strings(doc, "asking_phrases", path),
        )

    def entry(self, entry_id: str) -> Entry:
        """The entry with this id (KeyError if none)."""
        return self._by_id[entry_id]

    def ids(self) -> list[str]:
        """Every entry id, in file order."""
        return [e.id for e in self.entries]

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best few entries for a question, best first, with normalised scores (no threshold)."""
        # A number the base has never seen ("a woman of 68", "150 a session") says nothing about which entry
        # answers: it is left out rather than counted against the question as an unknown word.
        tokens = [t for t in self.tokenise(text) if not t.isdigit() or t in self._vocabulary]
        # In a long story, the sentences that ask count once more (when they name therapy themselves).
        asked = _asked(text)
        if tokens and asked:
            extra = [t for t in self.tokenise(asked) if not t.isdigit() or t in self._vocabulary]
            if _holds(extra, self._domain | self._context):
                tokens += extra * ASKED_WEIGHT
        if not tokens:
            return []
        scores = [0.0] * len(self.entries)
        for weight, (bm25, rarest) in self._indexes:
            ceiling = sum(bm25.idf.get(t, UNSEEN * rarest) for t in tokens) * (K1 + 1)
            for i, raw in enumerate(bm25.get_scores(tokens)):
                scores[i] += weight * float(raw) / ceiling
        order = sorted(range(len(self.entries)), key=lambda i: -scores[i])[:limit]
        return [Hit(self.entries[i], scores[i]) for i in order if scores[i] > 0]

    def ask(self, text: str) -> Entry | None:
        """The entry that answers a question, or None when nothing fits well enough."""
        if not self.about_therapy(self.tokenise(text)):
            return None  # nothing about therapy in it: "good evening", "how do I write a CV"
        hits = self.search(text, limit=1)
        return hits[0].entry if hits and hits[0].score >= self.threshold else None

    def about_therapy(self, tokens: Sequence[str]) -> bool:
        """Does a question hold a domain word, or a context word among words the base nearly all knows?

        A context word ("session", "homework", "waiting list", "student") is about therapy only among
        words the base knows (at most UNSEEN_SHARE of them new, numbers aside): "the first session of
        parliament" and "my algebra homework" are not. A domain word is not enough in a question of
        FOREIGN_MIN words or more of which most are new to the base: "my dog is on meds for arthritis".
        Numbers are left out of both counts. A question holding one of the `elsewhere_words` (a pet, a
        vet, a billing code) is about something else, unless it also holds one of `elsewhere_unless`
        (therapy, a therapist, PTSD): "is there anxiety medication for dogs" is not answered, "can I bring
        my dog to therapy" may be. One of `elsewhere_always` (a streaming service, a psychologist's salary,
        a car's gearbox) puts it elsewhere even with therapy named: "my car needs couples therapy lol".
        """
        if not self._domain:
            return True
        if _holds(tokens, self._elsewhere_always):
            return False  # "the series En terapia on HBO", "how much does a psychologist earn"
        if _holds(tokens, self._elsewhere) and not _holds(tokens, self._elsewhere_unless):
            return False  # "is there medication for cats", "the CPT code on my bill"
        words = [t for t in tokens if not t.isdigit()]
        unseen = sum(1 for t in words if t not in self._vocabulary)
        if _holds(tokens, self._domain):
            return len(words) < FOREIGN_MIN or unseen <= FOREIGN_SHARE * len(words)
        return _holds(tokens, self._context) and unseen <= UNSEEN_SHARE * len(words)

    def looks_like_question(self, text: str) -> bool:
        """A question mark, a first word such as "what", "how", "is", "can", or anywhere one of the
        locale's `asking_phrases`, a way of asking without a question mark after venting ("..., I was
        wondering if CPT would suit me", "me pregunto si la EMDR sirve")."""
        if any(mark in text for mark in _QUESTION_MARKS):
            return True
        folded = fold(text, squeeze=False)
        if any(f" {p} " in f" {folded} " for p in self._asking_phrases):
            return True
        return any(folded == w or folded.startswith(w + " ") for w in self._question_words)


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def _asked(text: str) -> str:
    """The sentences of a longer message that ask (those with a question mark, else the last), or ""."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if any(ch.isalnum() for ch in s)]
    if len(sentences) < 2 or len(text) < ASKED_MIN:
        return ""
    asking = [s for s in sentences if any(mark in s for mark in _QUESTION_MARKS)]
    return " ".join(asking or sentences[-1:])


def _opener_regex(openers: Sequence[str], question_words: Sequence[str]) -> re.Pattern[str] | None:
    """Openers at the very start, followed by a comma (or other mark) or by one of the question words."""
    forms = sorted({fold(o, squeeze=False) for o in openers if fold(o)}, key=len, reverse=True)
    if not forms:
        return None
    asks = sorted({fold(w, squeeze=False) for w in question_words if fold(w)}, key=len, reverse=True)
    opener = "|".join(r"\s+".join(map(re.escape, f.split())) for f in forms)
    follow = r"\s*[,.;:!?¿¡…-]+"
    if asks:
        follow += r"|\s+(?=(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in asks) + r")\b)"
    return re.compile(r"^[\W_]*(?:" + opener + r")(?:" + follow + r")")


def _closer_regex(closers: Sequence[str]) -> re.Pattern[str] | None:
    """Closers after a comma at the end of a sentence ("..., pe.", "..., po?"): a filler, not a word."""
    forms = sorted({fold(c, squeeze=False) for c in closers if fold(c)}, key=len, reverse=True)
    if not forms:
        return None
    closer = "|".join(r"\s+".join(map(re.escape, f.split())) for f in forms)
    return re.compile(r",\s*(?:" + closer + r")\s*(?=[.;!?…]|$)")


def _phrases(words: Sequence[str], tokenise: Tokeniser) -> frozenset[tuple[str, ...]]:
    return frozenset(tokens for w in words if (tokens := tuple(tokenise(w))))


def _holds(tokens: Sequence[str], phrases: frozenset[tuple[str, ...]]) -> bool:
    """Does the question hold one of these phrases (runs of search words) as a run?"""
    lengths = {len(p) for p in phrases}
    return any(tuple(tokens[i : i + n]) in phrases for n in lengths for i in range(len(tokens) - n + 1))


def _strings(doc: Mapping[str, object], key: str, path: Path) -> list[str]:
    items = doc.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise KnowledgeError(f"{path}: {key} must be a list of strings")
    return items


def _language(doc: Mapping[str, object], path: Path) -> str | None:
    language = doc.get("stemmer")
    if language is None:
        return None
    if not isinstance(language, str) or language not in snowballstemmer.algorithms():
        raise KnowledgeError(f"{path}: stemmer must name a Snowball algorithm such as 'english'")
    return language


def _ages(doc: Mapping[str, object], path: Path) -> Ages | None:
    raw = doc.get("ages")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"words", "child", "adult", "adult_from"}:
        raise KnowledgeError(f"{path}: ages must be a table of words, child, adult and adult_from")
    words, child, adult = raw.get("words"), raw.get("child"), raw.get("adult")
    adult_from = raw.get("adult_from", 18)
    if (
        not isinstance(words, list)
        or not words
        or not all(isinstance(w, str) and w.strip() for w in words)
        or not isinstance(child, str)
        or not isinstance(adult, str)
        or not isinstance(adult_from, int)
    ):
        raise KnowledgeError(
            f"{path}: ages needs words (a list), child and adult (words) and adult_from (a number)"
        )
    return Ages(tuple(words), fold(child, squeeze=False), fold(adult, squeeze=False), adult_from)


def _threshold(doc: Mapping[str, object], path: Path) -> float:
    value = doc.get("threshold", THRESHOLD)
    if not isinstance(value, int | float) or not 0 < value < 1:
        raise KnowledgeError(f"{path}: threshold must be a number between 0 and 1")
    return float(value)


def _entry(raw: object, path: Path, index: int) -> Entry:
    where = f"{path} entry #{index + 1}"
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{where}: not a table")
    unknown = set(raw) - {"id", "questions", "answer", "source", "keywords"}
    if unknown:
        raise KnowledgeError(f"{where}: unknown key(s) {sorted(unknown)}")
    entry_id, answer, source = raw.get("id"), raw.get("answer"), raw.get("source")
    questions, keywords = raw.get("questions", []), raw.get("keywords", [])
    if not isinstance(entry_id, str) or not re.fullmatch(r"[a-z0-9_]+", entry_id):
        raise KnowledgeError(f"{where}: id must be lower-case letters, digits and _")
    if not isinstance(answer, str) or not answer.strip() or len(answer.strip()) > MAX_ANSWER:
        raise KnowledgeError(f"{where} ({entry_id}): answer must be 1 to {MAX_ANSWER} characters")
    if not isinstance(source, str) or not source.strip():
        raise KnowledgeError(f"{where} ({entry_id}): a source is required")
    for name, items in (("questions", questions), ("keywords", keywords)):
        if not isinstance(items, list) or not all(isinstance(q, str) and q.strip() for q in items):
            raise KnowledgeError(f"{where} ({entry_id}): {name} must be a list of strings")
    if not questions:
        raise KnowledgeError(f"{where} ({entry_id}): at least one example question is required")
    return Entry(entry_id, tuple(questions), answer.strip(), source.strip(), tuple(keywords))


@cache
def knowledge(locale: str) -> KnowledgeBase:
    """The knowledge base for a locale (its base language), falling back to English; built once."""
    try:
        return KnowledgeBase.load(base_locale(locale))
    except FileNotFoundError:
        return KnowledgeBase.load(DEFAULT_LOCALE)


def ask(text: str, locale: str) -> Entry | None:
    """The entry answering a free-text question in this locale, or None (then say so honestly)."""
    return knowledge(locale).ask(text)


def looks_like_question(text: str, locale: str) -> bool:
    """Cheap check before searching: does this reply read as a question?"""
    return knowledge(locale).looks_like_question(text)
