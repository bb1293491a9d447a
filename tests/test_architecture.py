"""The package layers: each top-level part of `bot` imports only parts below it, and none imports another
part of its own layer, so there is no cycle between packages and each can be read (and imported) alone.

Low to high: the shared vocabulary (`domain`) at the ground; the platform list (`platforms`); settings;
the pure parts (safety, knowledge, templates, the store contract); nudges; the engine; then the nudge
dispatcher and the adapters side by side (the dispatcher knows adapters only as `domain.Sender`); the
wiring on top.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from bot import platforms

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. Parts of one layer must not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("domain", "paths", "logs"),
    ("platforms",),
    ("config",),
    ("templates", "safety", "knowledge", "store"),
    ("nudges",),
    ("engine",),
    ("dispatcher", "adapters", "check", "app"),
    ("runner",),
    ("cli",),
    ("__main__",),
)
# Parts not yet given a layer: still covered by the cycle check. Place them once they have content.
UNPLACED = frozenset({"ops"})


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("bot")


def top_level(graph: grimp.ImportGraph) -> list[str]:
    return sorted(name.removeprefix("bot.") for name in graph.find_children("bot"))


def test_every_part_has_a_layer(graph: grimp.ImportGraph) -> None:
    placed = {name for layer in LAYERS for name in layer}
    assert set(top_level(graph)) - placed - UNPLACED == set(), "add the new part to LAYERS"


def test_no_cycle_between_top_level_parts(graph: grimp.ImportGraph) -> None:
    cycles = [
        (a, b)
        for a, b in itertools.combinations(top_level(graph), 2)
        if graph.chain_exists(importer=f"bot.{a}", imported=f"bot.{b}", as_packages=True)
        and graph.chain_exists(importer=f"bot.{b}", imported=f"bot.{a}", as_packages=True)
    ]
    assert cycles == []


def test_layers_import_only_downwards(graph: grimp.ImportGraph) -> None:
    layers = [grimp.Layer(*layer, independent=True) for layer in reversed(LAYERS)]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"bot"})
    found = sorted(f"{d.importer} -> {d.imported}" for d in illegal)
    assert found == []


def test_the_dispatcher_knows_no_adapter_and_no_engine_class(graph: grimp.ImportGraph) -> None:
    """It sends through `domain.Sender` and renders through `domain.Renderer`."""
    assert not graph.chain_exists(importer="bot.dispatcher", imported="bot.adapters", as_packages=True)
    assert "bot.engine.engine" not in graph.find_modules_directly_imported_by("bot.dispatcher")


@pytest.mark.parametrize(
    "part", [layer_part for layer in LAYERS for layer_part in layer if layer_part != "__main__"]
)
def test_each_part_imports_on_its_own(part: str) -> None:
    """A fresh interpreter imports the part first: an import-order cycle would fail here."""
    done = subprocess.run(
        [sys.executable, "-c", f"import bot.{part}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# ---- the platform list is the registry's alone ----------------------------------------------------------
PLATFORM_NAMES = frozenset({*platforms.names(), "console"})


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (prose may name platforms)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _prefixed(node: ast.Attribute | ast.keyword | ast.AnnAssign) -> bool:
    """`settings.telegram_token`, `Settings(discord_token=…)`, a field `telegram_token: str`."""
    if isinstance(node, ast.AnnAssign):
        name = node.target.id if isinstance(node.target, ast.Name) else ""
    else:
        name = (node.attr if isinstance(node, ast.Attribute) else node.arg) or ""
    return any(name.startswith(f"{platform}_") for platform in platforms.names())


def platform_lists(source: str) -> list[str]:
    """Where `source` lists platforms by name: a tuple, list or set holding one, a dict keyed by one, a
    comparison with one (an if/elif chain is a list too), a string naming several ("a,b"), or fields
    named after them (`settings.telegram_token or settings.discord_token`)."""

    def named(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and node.value in PLATFORM_NAMES

    tree = ast.parse(source)
    prose = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Tuple | ast.List | ast.Set) and any(named(e) for e in node.elts):
            found.append(f"{line}: a {type(node).__name__.lower()} of platform names")
        elif isinstance(node, ast.Dict) and any(named(k) for k in node.keys):
            found.append(f"{line}: a dict keyed by platform names")
        elif isinstance(node, ast.Compare) and any(named(n) for n in (node.left, *node.comparators)):
            found.append(f"{line}: a comparison with a platform name")
        elif isinstance(node, ast.Attribute | ast.keyword | ast.AnnAssign) and _prefixed(node):
            found.append(f"{line}: a field named after a platform (its settings belong in its section)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            parts = {p.strip().lower() for p in node.value.split(",")}
            if len(parts & PLATFORM_NAMES) > 1:
                found.append(f"{line}: a string naming several platforms")
    return found


def test_the_scan_finds_each_kind_of_platform_list() -> None:
    names = sorted(PLATFORM_NAMES)
    for source in (
        f"PLATFORMS = ({names[0]!r}, {names[1]!r})",
        f"rates = {{{names[0]!r}: 25.0}}",
        f"if platform == {names[1]!r}:\n    pass",
        f"ok = name in [{names[0]!r}]",
        f"default = '{names[0]},{names[1]}'",
        f"on = settings.{platforms.names()[0]}_token",
        f"class Settings:\n    {platforms.names()[0]}_token: str = ''",
    ):
        assert platform_lists(source), source
    assert platform_lists(f'def f():\n    """{names[0]},{names[1]}"""\n    return {names[0]!r}') == []


def test_no_platform_list_outside_the_registry_and_the_platforms_own_folders() -> None:
    own = {ROOT / "bot" / "platforms.py"}
    folders = [ROOT / "bot" / "adapters" / name for name in platforms.names()]
    found = [
        f"{path.relative_to(ROOT)}:{where}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if path not in own and not any(path.is_relative_to(folder) for folder in folders)
        for where in platform_lists(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "read bot.platforms instead"
