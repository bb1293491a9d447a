"""split_text: parts fit the limit, break at the gentlest boundary, and never cut an HTML entity."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.base import split_text
from tests.fakes.telegram import parse_html


def test_short_text_is_one_part() -> None:
    assert split_text("Hello there.", 4096) == ["Hello there."]
    assert split_text("", 10) == []


def test_prefers_paragraph_then_line_then_word() -> None:
    para = "a" * 30 + "\n\n" + "b" * 30
    assert split_text(para, 40) == ["a" * 30, "b" * 30]
    lines = "a" * 30 + "\n" + "b" * 30
    assert split_text(lines, 40) == ["a" * 30, "b" * 30]
    words = "aaaa " * 10
    assert split_text(words, 12) == ["aaaa aaaa", "aaaa aaaa", "aaaa aaaa", "aaaa aaaa", "aaaa aaaa"]


def test_paragraph_break_wins_over_a_later_line_break() -> None:
    text = "a" * 25 + "\n\n" + "b" * 10 + "\n" + "c" * 30
    assert split_text(text, 40)[0] == "a" * 25


def test_an_early_break_does_not_make_a_tiny_part() -> None:
    text = "ab\n\n" + "c" * 30 + " " + "d" * 30
    parts = split_text(text, 40)
    assert parts[0] == "ab\n\n" + "c" * 30  # the space late in the window beats the early paragraph


def test_hard_cut_never_splits_an_entity() -> None:
    text = "x" * 8 + "&amp;" + "y" * 20
    parts = split_text(text, 10)
    assert parts[0] == "x" * 8
    assert parts[1].startswith("&amp;")
    assert all(len(p) <= 10 for p in parts)


def test_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 0)


_words = st.text(alphabet=st.sampled_from([*"ab<>&\"'é🙂ש", " ", "\n"]), max_size=600)


@settings(max_examples=300, deadline=None)
@given(raw=_words, limit=st.integers(min_value=12, max_value=120))
def test_parts_fit_parse_and_keep_every_word(raw: str, limit: int) -> None:
    escaped = html.escape(raw, quote=False)
    parts = split_text(escaped, limit)
    assert all(0 < len(p) <= limit for p in parts)
    for part in parts:
        parse_html(part)  # raises on a cut entity (the fake is strict about a bare "&")
    squash = re.compile(r"\s+")
    assert squash.sub("", "".join(parts)) == squash.sub("", escaped)
