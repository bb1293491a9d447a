"""Taps for a new person to reach their plan: before (every reason asked) and now (a suggested reason).

Drives the real conversation step (`bot.engine.conversation.step`, no store) along typical paths of a
new person, from /start to the message holding their plan, and counts every message or tap they send.
"Before" is the same engine with the suggestion switched off (no ending names a reason, and their own
words at the ending are not read for one), so all six reasons are asked, as before issue 13.
Each path is printed with both counts; the medians go in the benchmark table (issue 13: "a new
person reaches their plan in fewer taps (report the median before and after)").

    python -m benchmarks.taps
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from unittest import mock

from bot.domain import Incoming, Kind, UserData, Who
from bot.engine import reflection as r
from bot.engine.conversation import step
from bot.engine.say import Say
from bot.engine.turn import Context
from bot.knowledge import answers
from bot.safety import CrisisDetector, ResourceBook
from bot.templates import Templates

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
MAX_TAPS = 40


@dataclass(frozen=True)
class Path:
    """A typical new person: how they answer how therapy ended, then what they answer after it.

    `ending` is the button they press (a label key), or `typed` their own words instead (before issue 13
    those were not understood, so there they press `ending`); `then` is what they press at each later
    question, by label key prefix, the first that is offered."""

    name: str
    ending: str
    typed: str = ""
    then: Sequence[str] = ("suggest_main", "answer_no")


PATHS = (
    Path("stopped going, nothing fits", "ending_stopped"),
    Path("stopped going, one reason fits", "ending_stopped", then=("answer_yes",)),
    Path("the therapist ended it", "ending_therapist_ended"),
    Path("not sure how it ended", "ending_unsure"),
    Path("it ran out, that's the main thing", "ending_ran_out"),
    Path("it ran out, and there's more", "ending_ran_out", then=("suggest_more", "answer_no")),
    Path("felt better, straight to the plan", "ending_felt_better", then=("straight_to_plan",)),
    Path("handled it myself, straight to the plan", "ending_on_my_own", then=("straight_to_plan",)),
    Path("types: it was too expensive", "ending_ran_out", typed="it was too expensive"),
    Path("types: never clicked with her", "ending_stopped", typed="I just never clicked with her"),
)


def _context(templates: Templates, detector: CrisisDetector, book: ResourceBook) -> Context:
    return Context(
        now=NOW,
        locale="en",
        detector=detector,
        resources=book,
        default_country="GB",
        retention_days=365,
        label_text=lambda key: templates.label(key, "en"),
    )


def _offered(says: list[Say], prefix: str) -> str | None:
    for say in says:
        for choice in say.choices():
            if choice.label.startswith(prefix):
                return choice.payload
    return None


def taps(path: Path, ctx: Context) -> int:
    """Messages and taps from /start until the plan is shown."""
    who = Who("console", "bench", "bench")
    data, count = UserData(), 0

    def send(event: Incoming) -> list[Say]:
        nonlocal data, count
        count += 1
        result = step(data, event, ctx)
        data = result.data
        return result.says

    def press(says: list[Say], prefixes: Sequence[str]) -> list[Say]:
        for prefix in prefixes:
            found = _offered(says, prefix)
            if found is not None:
                return send(Incoming(who, Kind.BUTTON, payload=found))
        raise AssertionError(f"{path.name}: none of {prefixes} offered")

    says = send(Incoming(who, Kind.COMMAND, command="start"))
    says = press(says, ["consent_yes"])
    says = press(says, ["country_GB"])
    typed = Incoming(who, Kind.TEXT, text=path.typed)
    says = send(typed) if path.typed else press(says, [path.ending])
    while not any(say.template == "plan" for say in says):
        if count > MAX_TAPS:
            raise AssertionError(f"{path.name}: no plan after {MAX_TAPS} taps")
        # A possible sign of risk is asked about first (they answer no); an ending typed but not taken
        # (the check came first) is then pressed as its button.
        says = press(says, ["check_no", *path.then, path.ending])
    return count


@contextmanager
def before() -> Iterator[None]:
    """The reflection as it was: no ending suggests a reason, and their words at the ending name none."""
    with (
        mock.patch.object(r, "ENDING_REASON", {}),
        mock.patch.object(answers, "recognise_reason", lambda _text, _locale: None),
    ):
        yield


def measure() -> list[tuple[str, int, int]]:
    """(path, taps before, taps now) for every path."""
    templates, detector, book = Templates(), CrisisDetector.load(), ResourceBook.load()
    ctx = _context(templates, detector, book)
    rows = []
    for path in PATHS:
        unsuggested = [p for p in path.then if not p.startswith("suggest")]
        with before():
            old = taps(replace(path, typed="", then=unsuggested), ctx)
        rows.append((path.name, old, taps(path, ctx)))
    return rows


def table_rows() -> list[tuple[str, str, str]]:
    rows = measure()
    width = max(len(name) for name, _, _ in rows)
    for name, old, new in rows:
        print(f"  {name:<{width}}  before {old:>2}  now {new:>2}")
    old_median = statistics.median(o for _, o, _ in rows)
    new_median = statistics.median(n for _, _, n in rows)
    return [
        (
            f"median taps from /start to the plan ({len(rows)} typical paths)",
            f"before {old_median:g}, now {new_median:g}",
            "fewer now",
        )
    ]


def main() -> None:
    for measure_, result, target in table_rows():
        print(f"{measure_}: {result} (target: {target})")


if __name__ == "__main__":
    main()
