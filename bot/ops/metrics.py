"""Prometheus metrics: counts and durations only.

Labels are bounded and say nothing about anyone: the platform, a nudge outcome, a template-free kind.
Never a person's words, a user id or a chat id (tests/ops scrape /metrics and check).
"""

from __future__ import annotations

from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

TURNS = Counter("keepgoing_turns", "Turns the engine handled", ["platform"], registry=REGISTRY)
TURN_SECONDS = Histogram(
    "keepgoing_turn_seconds",
    "Time one engine turn took (load, step, save, render)",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
CRISIS_REPLIES = Counter(
    "keepgoing_crisis_replies", "Turns that answered with the crisis lines", ["platform"], registry=REGISTRY
)
CHECK_QUESTIONS = Counter(
    "keepgoing_check_questions",
    "Turns that asked the direct safety check question (a possible sign)",
    ["platform"],
    registry=REGISTRY,
)
NUDGES = Counter(
    "keepgoing_nudges",
    "Nudges handled by outcome (sent, failed, unreachable, retrying, missed, quiet)",
    ["platform", "outcome"],
    registry=REGISTRY,
)
NUDGE_PASS_SECONDS = Histogram(
    "keepgoing_nudge_pass_seconds",
    "Time one nudge dispatcher pass took",
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "keepgoing_platform_rate_limited",
    "429 Too Many Requests answers from a platform",
    ["platform"],
    registry=REGISTRY,
)

CRISIS_TEMPLATES = frozenset({"crisis", "crisis_check"})
CHECK_TEMPLATE = "risk_check"


@cache
def _turn_series(platform: str) -> tuple[Counter, Histogram]:
    """A platform's turn counter and duration histogram (`labels` takes a lock and checks its arguments
    on every call; the platforms are few and these series are never removed)."""
    return TURNS.labels(platform), TURN_SECONDS.labels(platform)


def observe_turn(platform: str, seconds: float, templates: list[str]) -> None:
    """Count one turn, its duration and whether it brought the crisis lines or the check question."""
    turns, durations = _turn_series(platform)
    turns.inc()
    durations.observe(seconds)
    if CRISIS_TEMPLATES.intersection(templates):
        CRISIS_REPLIES.labels(platform).inc()
    if CHECK_TEMPLATE in templates:
        CHECK_QUESTIONS.labels(platform).inc()


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
