"""Curation tools for the crisis detector: explain one decision, measure a table of phrases.

Both print only to the operator's terminal (`keepgoing safety explain|eval`); nothing here logs
or stores the text. The functions are pure: they take a detector and rows and return text or
figures, so the tests can check them without a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.safety.detector import CrisisDetector, Explanation, Risk, Signal

LABELS = ("crisis", "safe")


class TableError(ValueError):
    """A phrase table is malformed (the message names the line)."""


@dataclass(frozen=True)
class Row:
    """One phrase of a table: what it should get, and (optionally) why."""

    label: str
    text: str
    category: str = ""
    locale: str = ""


def parse_table(lines: Iterable[str]) -> list[Row]:
    """Rows from `label<TAB>text` lines or the 4-column `label category locale text` format.

    A header line starting with `label` (or `expected`) is skipped; blank lines and lines
    starting with `#` are ignored. Labels are `crisis` or `safe` (`none` counts as safe).
    """
    rows: list[Row] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if number == 1 and cells[0].strip() in ("label", "expected"):
            continue
        label = cells[0].strip().lower()
        label = "safe" if label == "none" else label
        if label not in LABELS:
            raise TableError(f"line {number}: label must be crisis or safe, not {cells[0]!r}")
        if len(cells) == 2:
            rows.append(Row(label, cells[1]))
        elif len(cells) == 4:
            rows.append(Row(label, cells[3], cells[1].strip(), cells[2].strip()))
        else:
            raise TableError(f"line {number}: expected 2 or 4 tab-separated columns, got {len(cells)}")
        if not rows[-1].text.strip():
            raise TableError(f"line {number}: empty text")
    return rows


def load_table(path: Path) -> list[Row]:
    """parse_table() over a UTF-8 file."""
    with path.open(encoding="utf-8", newline="") as f:
        return parse_table(f)


@dataclass(frozen=True)
class Tally:
    """Outcomes for one group of rows."""

    rows: int = 0
    crisis: int = 0  # the full crisis reply
    check: int = 0  # the check question

    @property
    def caught(self) -> int:
        """Rows that got the crisis reply or the check question."""
        return self.crisis + self.check

    def add(self, signal: Signal | None) -> Tally:
        """This tally with one more row."""
        return Tally(
            self.rows + 1,
            self.crisis + (signal is not None and signal.level is Risk.CLEAR),
            self.check + (signal is not None and signal.level is Risk.POSSIBLE),
        )


@dataclass(frozen=True)
class Report:
    """Per-category tallies of crisis rows and of safe rows, plus the rows that went wrong."""

    crisis: dict[str, Tally]
    safe: dict[str, Tally]
    missed: tuple[Row, ...]
    alarms: tuple[tuple[Row, Signal], ...]

    @property
    def crisis_total(self) -> Tally:
        """All crisis rows together."""
        return _sum(self.crisis.values())

    @property
    def safe_total(self) -> Tally:
        """All safe rows together."""
        return _sum(self.safe.values())


def _sum(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total = Tally(total.rows + t.rows, total.crisis + t.crisis, total.check + t.check)
    return total


def evaluate(detector: CrisisDetector, rows: Sequence[Row]) -> Report:
    """Run every row through the detector (each as a first message) and tally the outcomes."""
    crisis: dict[str, Tally] = {}
    safe: dict[str, Tally] = {}
    missed: list[Row] = []
    alarms: list[tuple[Row, Signal]] = []
    for row in rows:
        signal = detector.detect(row.text)
        group = crisis if row.label == "crisis" else safe
        key = row.category or "(none)"
        group[key] = group.get(key, Tally()).add(signal)
        if row.label == "crisis" and signal is None:
            missed.append(row)
        elif row.label == "safe" and signal is not None:
            alarms.append((row, signal))
    return Report(dict(sorted(crisis.items())), dict(sorted(safe.items())), tuple(missed), tuple(alarms))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def format_report(report: Report, *, show_rows: bool = True) -> str:
    """The report as aligned text: recall per crisis category, false alarms per safe category."""
    out: list[str] = []
    if report.crisis:
        out.append(f"{'crisis rows':<22}{'rows':>6}{'recall':>9}{'crisis':>9}{'check':>9}")
        for name, t in [*report.crisis.items(), ("TOTAL", report.crisis_total)]:
            out.append(
                f"{name:<22}{t.rows:>6}{_pct(t.caught, t.rows):>9}{_pct(t.crisis, t.rows):>9}"
                f"{_pct(t.check, t.rows):>9}"
            )
    if report.safe:
        out.append("")
        out.append(f"{'safe rows':<22}{'rows':>6}{'crisis':>9}{'check':>9}")
        for name, t in [*report.safe.items(), ("TOTAL", report.safe_total)]:
            out.append(f"{name:<22}{t.rows:>6}{_pct(t.crisis, t.rows):>9}{_pct(t.check, t.rows):>9}")
    if show_rows and report.missed:
        out.append("")
        out.append(f"missed ({len(report.missed)}):")
        out += [f"  [{r.category or '-'}] {r.text}" for r in report.missed]
    if show_rows and report.alarms:
        out.append("")
        out.append(f"alarms on safe rows ({len(report.alarms)}):")
        out += [
            f"  {s.level.value:<8} [{r.category or '-'} -> {s.category}] {r.text}" for r, s in report.alarms
        ]
    return "\n".join(out)


def outcome(signal: Signal | None) -> str:
    """What the person would get, in the operator's words."""
    if signal is None:
        return "nothing (the conversation carries on)"
    if signal.level is Risk.CLEAR:
        return f"crisis reply ({signal.category})"
    return f"check question ({signal.category})"


def format_explanation(explanation: Explanation) -> str:
    """Every step of one decision as text for the terminal."""
    e = explanation
    out = [f"normalised: {e.normalised}", f"canonical:  {e.canonical}"]
    if e.rewrites:
        out.append(
            "rewrites:   " + ", ".join(f"{r.original} -> {r.replacement} ({r.kind})" for r in e.rewrites)
        )
    else:
        out.append("rewrites:   none")
    out.append("layers:     " + (", ".join(e.layers) or "none"))
    if e.phrase is not None:
        softened = " -> possible (past, someone else or fiction)" if e.downgraded else ""
        level = e.phrase.level.value + softened
        out.append(f"pattern:    {e.phrase.category}, {level}")
        out.append(f"  phrase:   {e.phrase.source}  ({e.phrase.filename})")
        out.append(f"  matched:  {e.matched}")
    else:
        out.append("pattern:    no match")
    if e.settled:
        out.append("settled:    a past crisis, safe now in their words: neither layer answers")
    if e.score is not None and e.threshold is not None:
        verdict = "at or above" if e.score >= e.threshold else "below"
        used = "" if e.phrase is None else " (not needed: a pattern matched)"
        out.append(f"classifier: {e.score:.3f} {verdict} threshold {e.threshold:.3f}{used}")
    else:
        out.append("classifier: not in use")
    out.append(f"outcome:    {outcome(e.signal)}")
    return "\n".join(out)


def run_safety(args: argparse.Namespace) -> int:
    """`keepgoing safety explain|eval`: print to the terminal only (nothing is logged or stored)."""
    patterns = not getattr(args, "no_patterns", False)
    classifier = not args.no_classifier
    if not patterns and not classifier:
        print("keepgoing: --no-patterns and --no-classifier leave nothing to measure", file=sys.stderr)
        return 2
    detector = CrisisDetector.load(classifier=classifier, patterns=patterns)
    if args.safety_command == "explain":
        print(format_explanation(detector.explain(args.text, previous=args.previous)))
        return 0
    try:
        rows = load_table(args.table)
    except (OSError, TableError) as error:
        print(f"keepgoing: cannot read {args.table}: {error}", file=sys.stderr)
        return 2
    layers = ", ".join(n for n, on in (("patterns", patterns), ("classifier", detector.has_classifier)) if on)
    print(f"{args.table}: {len(rows)} rows; layers: {layers or 'none'}")
    print(format_report(evaluate(detector, rows), show_rows=not args.quiet))
    return 0
