"""Community features live in the engine: every server platform gets the same posts, lines and weekly post."""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.domain import Rhythm, TargetKind
from bot.engine import Engine
from bot.engine.community import Channel, SetupRequest
from tests.conftest import Clock

CHANNEL = Channel(platform="discord", channel_id="42", chat_id="channel:42", locale="es-ES")


def _request(*, weekly: bool = True, allowed: bool = True, can_post: bool = True) -> SetupRequest:
    return SetupRequest(channel=CHANNEL, weekly=weekly, allowed=allowed, can_post=can_post)


def test_an_encouragement_is_never_the_one_that_channel_saw_last(engine: Engine) -> None:
    posts = [engine.community.encouragement("discord", "42", "en").text for _ in range(40)]
    assert all(a != b for a, b in itertools.pairwise(posts))
    assert len(set(posts)) >= 3  # it rotates through the pool, not between two


def test_resources_show_the_default_countrys_lines_without_anything_stored(engine: Engine) -> None:
    text = engine.community.resources("discord", "en").text
    assert "Samaritans" in text and "116 123" in text  # the operator's default country is GB


async def test_an_admin_turns_the_weekly_post_on_then_off(engine: Engine, clock: Clock) -> None:
    done = await engine.community.setup("discord", _request(), "en")
    assert done.text == engine.notice("setup_done", "discord", "en").text
    due = await engine.store.schedules_due_before(clock.now + timedelta(days=8))
    (post,) = [d for d in due if d.schedule.target_kind is TargetKind.CHANNEL]
    assert post.schedule.rhythm is Rhythm.WEEKLY and post.schedule.chat_id == "channel:42"
    assert post.schedule.timezone == "UTC" and post.schedule.locale == "es-ES"
    assert post.schedule.quiet_start == post.schedule.quiet_end  # no quiet hours: the admin chose the time
    off = await engine.community.setup("discord", _request(weekly=False), "en")
    assert off.text == engine.notice("setup_off", "discord", "en").text
    again = await engine.community.setup("discord", _request(weekly=False), "en")
    assert again.text == engine.notice("setup_was_off", "discord", "en").text
    assert not [d for d in await engine.store.schedules_due_before(clock.now + timedelta(days=8))]


async def test_only_admins_in_a_channel_the_bot_can_post_to_set_it_up(engine: Engine, clock: Clock) -> None:
    refused = await engine.community.setup("discord", _request(allowed=False), "es")
    assert refused.text == engine.notice("setup_not_allowed", "discord", "es").text
    outside = await engine.community.setup("discord", SetupRequest(None, True, True, True), "en")
    assert outside.text == engine.notice("setup_not_allowed", "discord", "en").text
    mute = await engine.community.setup("discord", _request(can_post=False), "en")
    assert mute.text == engine.notice("setup_cannot_post", "discord", "en").text
    assert not await engine.store.schedules_due_before(clock.now + timedelta(days=8))


async def test_a_store_that_is_down_gets_a_kind_answer(engine: Engine) -> None:
    await engine.store.close()
    reply = await engine.community.setup("discord", _request(), "en")
    assert reply.text == engine.notice("store_unavailable", "discord", "en").text
