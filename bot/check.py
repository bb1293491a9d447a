"""`keepgoing check`: prove every template renders in every locale and fits every platform's limits.

Renders each template with worst-case sample values (every reason recognised, the longest note, each
country's helplines), escaped for each platform, and checks lengths, labels, button payloads, and that
every template the code names exists.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from bot import platforms
from bot.domain import Flow, Person, Rhythm, SafetyPlan, Schedule, TargetKind, UserKey, Who
from bot.engine import grounding, nudging, reflection, safety_plan
from bot.engine.commands import NOTE_LIMIT
from bot.engine.say import FLOW_VERSION, Say
from bot.engine.steps import DONE, PlanStep
from bot.knowledge.routes import book as routes_book
from bot.nudges.words import load_words
from bot.safety import ResourceBook
from bot.templates import DEFAULT_LOCALE, Templates

LIMITS = platforms.text_limits()  # the longest message per markup, from the platform list
LABEL_LIMIT = platforms.label_limit()  # the strictest platform's button labels
SAMPLE_PLATFORM = platforms.PLATFORMS[0].name  # whose rows the samples are (any registered platform)
PACKAGE = Path(__file__).resolve().parent


@dataclass
class Report:
    problems: list[str]
    rendered: int = 0

    def fail(self, text: str) -> None:
        self.problems.append(text)


def sample_person() -> Person:
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    answers = dict.fromkeys(reflection.REASONS, "partly")
    return Person(
        key=UserKey(SAMPLE_PLATFORM, "1" * 20),
        chat_id="1" * 20,
        locale="en",
        flow=Flow(version=FLOW_VERSION, step=str(DONE), ending="ran_out", answers=answers),
        created_at=now,
        last_seen_at=now,
        country="GB",
        youth=True,
        consented_at=now,
        plan_at=now,
        note="W" * NOTE_LIMIT,
    )


def sample_schedule() -> Schedule:
    return Schedule(
        platform=SAMPLE_PLATFORM,
        target_kind=TargetKind.PERSON,
        target_id="1" * 20,
        chat_id="1" * 20,
        rhythm=Rhythm.FEW_WEEKLY,
        local_time="18:30",
        timezone="America/Argentina/ComodRivadavia",
        next_due_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


# The longest values nudge templates and labels can get.
NUDGE_NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
NUDGE_SAMPLES: dict[str, Any] = {
    "rhythm": "tapering",
    "local_time": "20:45",
    "timezone": "America/Argentina/ComodRivadavia",
    "quiet_start": "21:00",
    "quiet_end": "09:00",
    "next_date": "2026-12-31",
    "next_time": "20:45",
    "time": "23:45",
    "suggestion": "20:30",
    "zone": "America/Argentina/ComodRivadavia",
    "now_there": "23:59",
}
# The longest safety plan: every part written to the limit.
PLAN_SAMPLE = SafetyPlan(
    steps=dict.fromkeys(safety_plan.STEPS, "W" * safety_plan.ANSWER_LIMIT),
    made_at=datetime(2026, 12, 31, tzinfo=UTC),
)
LABEL_SAMPLES = {"time": "23:45", "zone": NUDGE_SAMPLES["zone"], "start": "21:00", "end": "09:00"}


def variants(book: ResourceBook) -> Iterator[dict[str, Any]]:
    """Worst-case values for every variable any template uses, once per country's helplines."""
    person = sample_person()
    plan_full = reflection.plan_values(person)
    routes = reflection.plan_routes(replace(person, country="GB"))  # general and veterans' routes
    for country in [*book.countries(), None]:
        for flag in (True, False):
            yield {
                **plan_full,
                "routes": routes,
                "unsure": list(reflection.REASONS) if flag else [],
                "valid_ending": flag,
                "resources": book.for_person(country, "en", "INTL", youth=flag),
                "person": person,
                "answers": dict(person.flow.answers),
                "ending": "therapist_ended" if flag else "",
                "schedule": sample_schedule() if flag else None,
                "retention_days": 36500,
                "nudges_logged": 99999 if flag else 0,  # /mydata: the nudge log and update ids
                "update_ids": 999 if flag else 0,
                "update_id_hours": 48,
                "zone_name": "Comodoro Rivadavia, Argentina",
                "number": 6,
                "total": 6,
                "country": "NZ" if flag else "",
                "category": "active_ideation",
                "started": flag,
                "resumable": flag,
                "has_plan": flag,
                "long": flag,
                "limit": NOTE_LIMIT,
                "note": "W" * NOTE_LIMIT if flag else "",
                "count": 99,
                "link": "https://t.me/" + "k" * 32 + "?start=" + "x" * 64,
                **NUDGE_SAMPLES,
                "next_weekday": 6 if flag else -1,
                "paused": flag,
                "resting": not flag,
                "new": flag,
                "stopped": flag,
                "changed": flag,
                # crisis care: the plan at its longest, the check-in, the not-safe path
                "plan": dict(PLAN_SAMPLE.steps) if flag else dict.fromkeys(safety_plan.STEPS, ""),
                "plan_lines": flag,
                "people": PLAN_SAMPLE.steps["people"] if flag else "",
                "pros": PLAN_SAMPLE.steps["pros"] if flag else "",
                "editing": flag,
                "current": "W" * safety_plan.ANSWER_LIMIT if flag else "",
                "consented": not flag,
                "adopted": flag,
                "pending": flag,
                "had": flag,
                "date": "2026-12-31",
                "safety_plan": PLAN_SAMPLE if flag else None,
                "check_in": {
                    "pending": flag,
                    "date": "2026-12-31",
                    "time": "23:45",
                    "timezone": NUDGE_SAMPLES["zone"],
                },
            }


def named_templates() -> set[str]:
    """Template names written as literals in the code (first argument of say/Say/notice)."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in {"say", "Say", "notice"} and isinstance(first, ast.Constant):
                names.add(str(first.value))
    return names


def all_buttons() -> list[Say]:
    """Every question's buttons, to check payload sizes and labels."""
    longest = sample_schedule()
    nudge_steps = [nudging.question(s, sample_person(), longest, NUDGE_NOW) for s in nudging.sample_steps()]
    nudge_messages = [
        nudging.offer(),
        Say("nudges/care_1", buttons=nudging.nudge_buttons(replace(longest, milestone=None))),
        Say("nudges/ask_fewer", buttons=nudging.fewer_buttons(longest)),
    ]
    return (
        [reflection.question(step) for step in reflection.QUESTION_STEPS]
        + nudge_steps
        + nudge_messages
        + care_messages()
    )


def care_messages() -> list[Say]:
    """Every crisis-care message with buttons: the crisis reply, grounding, the plan, the check-in."""
    book = ResourceBook.load()
    person = replace(sample_person(), safety_plan=PLAN_SAMPLE)
    resources = book.for_person("GB", "en", "INTL")
    says = [
        Say("crisis", buttons=safety_plan.crisis_buttons(None, None)),
        Say("crisis", buttons=safety_plan.crisis_buttons(person, None)),
        Say("followup/message", buttons=safety_plan.followup_buttons()),
        *(grounding.step_say(i) for i in range(1, grounding.STEPS + 1)),
    ]
    for key in safety_plan.STEPS:
        for editing in (False, True):
            says.append(safety_plan.question(PlanStep(key, editing), person, resources))
    who = Who(SAMPLE_PLATFORM, "1" * 20, "1" * 20)
    acts = [
        lambda c: c.not_safe(),
        lambda c: c.grounding("stop"),
        lambda c: c.followup_button("yes"),
        lambda c: c.offer(),
        lambda c: c.show(),
        lambda c: c.button("edit"),
        lambda c: c.button("delete"),
    ]
    for act in acts:
        care = safety_plan.Care(
            person,
            sample_schedule(),
            None,
            who=who,
            locale="en",
            now=NUDGE_NOW,
            resources=resources,
            label=lambda key: key,
            words=load_words(),
        )
        act(care)
        says.extend(care.says)
    return says


def check_templates(templates: Templates, book: ResourceBook, report: Report) -> None:
    english = set(templates.template_names(DEFAULT_LOCALE))
    for locale in templates.locales:
        own = set(templates.template_names(locale))
        for extra in sorted(own - english):
            report.fail(f"{locale}: extra template {extra} (no English original)")
        for name in sorted(english):
            if name.startswith("partials/"):
                continue
            for values in variants(book):
                for markup, limit in LIMITS.items():
                    try:
                        text = templates.render(name, locale, markup, **values)
                    except (TemplateError, KeyError, AttributeError, TypeError) as error:
                        report.fail(f"{locale}/{name}: does not render: {error}")
                        break
                    report.rendered += 1
                    if not text.strip():
                        report.fail(f"{locale}/{name}: renders empty")
                    if len(text) > limit:
                        report.fail(f"{locale}/{name}: {len(text)} characters for {markup.value}")
                else:
                    continue
                break
        for key in templates.label_keys(DEFAULT_LOCALE):
            label = templates.label(key, locale, **LABEL_SAMPLES)
            if not label or len(label) > LABEL_LIMIT:
                report.fail(f"{locale} label {key}: must be 1-{LABEL_LIMIT} characters")


TRANSLATIONS_DIR = "translations"


NO_ROUTES_COUNTRY = "ZZ"  # a country with no routes file: the plan's general fallback


def check_routes(templates: Templates, report: Report) -> None:
    """The plan, with its routes, for every country that has a routes file (and the fallback), per locale."""
    for locale in templates.locales:
        for country in [*routes_book().countries(), NO_ROUTES_COUNTRY]:
            person = replace(sample_person(), country=country, locale=locale)
            for say in reflection.plan(person, offer_note=True):
                for markup, limit in LIMITS.items():
                    text = templates.render(say.template, locale, markup, **say.values)
                    report.rendered += 1
                    if len(text) > limit:
                        report.fail(
                            f"{locale}/{say.template} ({country}): {len(text)} characters for {markup.value}"
                        )


def english_digests(templates: Templates) -> dict[str, str]:
    """SHA-256 of each English template's source, by template name."""
    folder = templates.root / DEFAULT_LOCALE
    return {
        name: hashlib.sha256((folder / f"{name}.j2").read_bytes()).hexdigest()
        for name in templates.template_names(DEFAULT_LOCALE)
    }


def translated_digests(templates: Templates, locale: str) -> dict[str, str]:
    """What `messages/translations/<locale>.toml` records: the English digest each translation followed."""
    path = templates.root / TRANSLATIONS_DIR / f"{locale}.toml"
    if not path.is_file():
        return {}
    return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("templates", {}))


def mark_translated(templates: Templates, locale: str) -> Path:
    """Record that every template `locale` has now follows the current English (after a review)."""
    own = set(templates.template_names(locale))
    digests = {name: digest for name, digest in english_digests(templates).items() if name in own}
    lines = [
        "# The SHA-256 of each English template when this translation was last brought up to date.",
        "# Written by `keepgoing check --mark-translated <locale>`; do not edit by hand.",
        "[templates]",
        *(f'"{name}" = "{digest}"' for name, digest in sorted(digests.items())),
    ]
    path = templates.root / TRANSLATIONS_DIR / f"{locale}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_translations(templates: Templates, report: Report) -> list[str]:
    """Fail on templates and labels a locale lacks or has without an English original; return warnings
    for translations whose English changed since they were last marked translated."""
    english = set(templates.template_names(DEFAULT_LOCALE))
    english_labels = set(templates.label_keys(DEFAULT_LOCALE))
    digests = english_digests(templates)
    warnings: list[str] = []
    for locale in templates.locales:
        if locale == DEFAULT_LOCALE:
            continue
        own = set(templates.template_names(locale))
        labels = set(templates.label_keys(locale))
        for name in sorted(english - own):
            report.fail(f"{locale}: missing template {name}")
        for key in sorted(english_labels - labels):
            report.fail(f"{locale}: missing label {key}")
        for key in sorted(labels - english_labels):
            report.fail(f"{locale}: extra label {key} (no English original)")
        recorded = translated_digests(templates, locale)
        for name in sorted(own & english):
            if recorded.get(name) != digests[name]:
                warnings.append(f"{locale}: stale template {name} (English changed since it was translated)")
    return warnings


def check_payload(platform: platforms.Platform, payload: str, report: Report) -> None:
    """A button payload within what the platform's buttons carry (bytes, or characters beside its prefix)."""
    name = platform.name.capitalize()
    size = len(payload.encode())
    if platform.payload_bytes is not None and size > platform.payload_bytes:
        report.fail(f"payload {payload!r} is {size} bytes ({name} allows {platform.payload_bytes})")
    if platform.payload_chars is not None and len(payload) > platform.payload_chars:
        report.fail(
            f"payload {payload!r} leaves no room in a {name} button ({platform.payload_chars} characters)"
        )


def check_code_references(templates: Templates, report: Report) -> None:
    english = set(templates.template_names(DEFAULT_LOCALE))
    for name in sorted(named_templates() - english):
        report.fail(f"the code names template {name!r}, which does not exist")
    labels = set(templates.label_keys(DEFAULT_LOCALE))
    for say in all_buttons():
        if say.template not in english:
            report.fail(f"question template {say.template!r} does not exist")
        for choice in say.choices():
            if choice.label not in labels:
                report.fail(f"button label {choice.label!r} does not exist")
            for platform in platforms.PLATFORMS:
                check_payload(platform, choice.payload, report)
    for path in PACKAGE.rglob("*.py"):
        for match in re.finditer(r'Choice\("([a-z_A-Z]+)"', path.read_text(encoding="utf-8")):
            if match.group(1) not in labels:
                report.fail(f"{path.name}: label {match.group(1)!r} does not exist")


def run_check(root: Path | None = None, mark: str | None = None) -> int:
    """Print a one-line verdict (each problem, and stale translations as warnings); exit 1 on any problem.

    With `mark`, first record that locale's translations as following the current English."""
    templates = Templates(root) if root else Templates()
    if mark is not None:
        print(f"check: marked translated: {mark_translated(templates, mark)}")
    book = ResourceBook.load()
    report = Report(problems=[])
    for warning in check_translations(templates, report):
        print(f"check: warning: {warning}", file=sys.stderr)
    check_templates(templates, book, report)
    check_routes(templates, report)
    check_code_references(templates, report)
    for problem in report.problems:
        print(f"check: {problem}", file=sys.stderr)
    if report.problems:
        print(f"check: {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"check: ok: {report.rendered} renderings of "
        f"{len(templates.template_names())} templates in {len(templates.locales)} locale(s)"
    )
    return 0
