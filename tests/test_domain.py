"""`copy_with`, the hot path's `dataclasses.replace`: the same records, and the premise it rests on."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest

from bot import domain
from bot.domain import Flow, Person, UserData, UserKey, copy_with

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def person() -> Person:
    flow = Flow(version=1, step="reason:ready", answers={"ready": "yes"}, history=("country", "ending"))
    return Person(UserKey("telegram", "1"), "1", "en", flow, NOW, NOW, country="GB")


def test_copy_with_builds_what_replace_builds() -> None:
    p = person()
    changes = {"last_seen_at": datetime(2026, 3, 2, tzinfo=UTC), "locale": "es", "chat_id": "2"}
    copied = copy_with(p, **changes)
    assert copied == dataclasses.replace(p, **changes)
    assert type(copied) is Person and copied is not p and p.locale == "en"
    flow = copy_with(p.flow, step="reason:rapport", offered=(("yes", "answer_yes", "1|x|yes"),))
    assert flow == dataclasses.replace(
        p.flow, step="reason:rapport", offered=(("yes", "answer_yes", "1|x|yes"),)
    )
    assert copy_with(UserData(), person=p) == UserData(person=p)
    assert hash(copy_with(p.key, user_id="2")) == hash(UserKey("telegram", "2"))


def test_copy_with_keeps_records_frozen_and_refuses_unknown_fields() -> None:
    copied = copy_with(person(), youth=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.youth = False  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field"):
        copy_with(person(), age=30)


def test_no_record_has_what_copy_with_would_skip() -> None:
    """`copy_with` skips `__init__`: right only while no record has `__post_init__`, init-only fields or
    slots. A record that gains one must be copied with `dataclasses.replace`."""
    records = [c for _, c in inspect.getmembers(domain, inspect.isclass) if dataclasses.is_dataclass(c)]
    assert Person in records and Flow in records
    for record in records:
        assert not hasattr(record, "__post_init__"), record
        assert "__slots__" not in vars(record), record
        assert all(f.init for f in dataclasses.fields(record)), record
