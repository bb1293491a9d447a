"""Typos in both directions: a slip on a key word is still caught, a real word next to one is not.

The positive rows run on the patterns alone (no classifier), and each must show a typo rewrite in
its explanation, so a row fails when the typo table stops doing its job. The negative rows run on
the whole detector, and the real word must come through unchanged (the guard list holds).
"""

from __future__ import annotations

import pytest

from bot.safety import CrisisDetector, Risk


@pytest.fixture(scope="module")
def patterns_only() -> CrisisDetector:
    return CrisisDetector.load(classifier=False)


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.load()


MISSPELLED = [
    ("i want to dei", "dei"),
    ("i just want to diee", "diee"),
    ("honestly i want to kil myself", "kil"),
    ("i wanna kil my self tonight", "kil"),
    ("thinking about sucide a lot lately", "sucide"),
    ("i think about suicdie every day", "suicdie"),
    ("i want to end my lfie", "lfie"),
    ("i want to end my liife", "liife"),
    ("i dont want to be alve anymore", "alve"),
    ("i want to kill mysefl", "mysefl"),
    ("quiero matrme", "matrme"),
    ("voy a matrme hoy", "matrme"),
    ("pienso en el sucidio", "sucidio"),
    ("pienso en el suicdio todos los dias", "suicdio"),
    ("pienso mucho en el siucidio", "siucidio"),
    ("ya no quiero vivr", "vivr"),
]


@pytest.mark.parametrize(("text", "typo"), MISSPELLED, ids=[t for t, _ in MISSPELLED])
def test_misspelled_key_word_is_caught(patterns_only: CrisisDetector, text: str, typo: str) -> None:
    explanation = patterns_only.explain(text)
    assert typo in {r.original for r in explanation.rewrites if r.kind == "typo"}, explanation.canonical
    assert typo not in explanation.canonical.split()
    assert explanation.signal is not None and explanation.signal.level is Risk.CLEAR, explanation


REAL_WORDS = [
    ("I tied my shoes and went for a walk", "tied"),
    ("the dye for my hair came in the post today", "dye"),
    ("I want to dye my hair blue this summer", "dye"),
    ("my wife and I are so tired of moving house", "wife"),
    ("I'm so tired of my wife's snoring", "wifes"),
    ("I lied about it to my boss and now I feel bad", "lied"),
    ("the end of the film was so sad", "film"),
    ("we fired the kiln today at pottery class", "kiln"),
    ("I want to learn a new skill this year", "skill"),
    ("I want to skill up at work", "skill"),
    ("i want to die my hair purple", "hair"),
    ("the kids played with the dice all evening", "dice"),
    ("she wants to live in a hive of bees haha, she loves them", "hive"),
    ("el cocinero quiere matar el hambre de todos con su sopa", "matar"),
    ("mi tía vive en una huerta preciosa", "huerta"),
]


@pytest.mark.parametrize(("text", "word"), REAL_WORDS, ids=[t for t, _ in REAL_WORDS])
def test_real_word_next_to_a_key_word_is_not_a_crisis(detector: CrisisDetector, text: str, word: str) -> None:
    explanation = detector.explain(text)
    assert word in explanation.canonical.split(), explanation.canonical
    assert explanation.signal is None or explanation.signal.level is Risk.POSSIBLE, explanation
