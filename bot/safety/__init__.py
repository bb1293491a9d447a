"""Safety layer: crisis detection and crisis resources, checked before every flow step."""

from __future__ import annotations

from bot.safety.detector import (
    CATEGORIES,
    HARM_FROM_OTHERS,
    UNCLEAR,
    CrisisDetector,
    PatternError,
    Risk,
    Signal,
    normalise,
)
from bot.safety.resources import (
    INTL,
    CrisisResources,
    Resource,
    ResourceBook,
    ResourceError,
)

__all__ = [
    "CATEGORIES",
    "HARM_FROM_OTHERS",
    "INTL",
    "UNCLEAR",
    "CrisisDetector",
    "CrisisResources",
    "PatternError",
    "Resource",
    "ResourceBook",
    "ResourceError",
    "Risk",
    "Signal",
    "normalise",
]
