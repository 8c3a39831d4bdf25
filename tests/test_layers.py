"""The house's layers, checked on every import in the package (function-level and TYPE_CHECKING
imports included): nothing imports a higher tier, and no two modules import each other, however
indirectly. docs/architecture.md draws the tiers and says where new code goes."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Bottom to top. A module may import its own tier and the tiers below it, never above.
TIERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("scitune.errors", "scitune.space", "scitune.states", "scitune.config")),
    ("training", ("scitune.training",)),
    ("pure", ("scitune.search", "scitune.analysis", "scitune.plots")),
    ("state", ("scitune.store",)),
    ("execution", ("scitune.run",)),
    ("steps", ("scitune.steps",)),
    ("faces", ("scitune.cli", "scitune.dashboard", "scitune.__main__", "scitune.notebook")),
]
# The package's own __init__ only names things lazily (importlib, by string); importing from it
# inside the package could hide an upward import, so only its version may be taken from it.
ROOT_NAMES_ALLOWED = {"__version__"}


def tier_of(module: str) -> int:
    for rank, (_, prefixes) in enumerate(TIERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} belongs to no tier: add it to TIERS and to docs/architecture.md")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "scitune").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` for every scitune module ``path`` imports, anywhere in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "scitune"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scitune":
            assert node.level == 0, f"{path}:{node.lineno}: use absolute imports"
            if node.module == "scitune":
                extra = {a.name for a in node.names} - ROOT_NAMES_ALLOWED
                assert not extra, f"{path}:{node.lineno}: import {sorted(extra)} from its own module, not the package root"
                continue
            # `from scitune.analysis import designs` imports the submodule; any other name comes from
            # the module (or package __init__) named
            submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known]
            out += [(node.lineno, m) for m in submodules]
            if len(submodules) < len(node.names):
                out.append((node.lineno, node.module))
    return out


GRAPH = {name: imports(path, set(modules())) for name, path in modules().items()}


def test_every_module_has_a_tier() -> None:
    for name in GRAPH:
        if name != "scitune":
            tier_of(name)


def test_nothing_imports_upward() -> None:
    upward = []
    for name, found in GRAPH.items():
        if name == "scitune":
            continue
        for line, target in found:
            if tier_of(target) > tier_of(name):
                upward.append(f"{modules()[name].relative_to(SRC)}:{line}: {name} ({TIERS[tier_of(name)][0]}) imports "
                              f"{target} ({TIERS[tier_of(target)][0]})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = {name: {t for _, t in found if t in GRAPH and t != name} for name, found in GRAPH.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        pytest.fail("import cycle: " + " -> ".join(err.args[1]))


def test_the_check_catches_an_upward_and_a_cyclic_import(tmp_path: Path) -> None:
    """The checks above must be able to fail: a planted store module importing the CLI, and two
    analysis modules importing each other inside functions."""
    (tmp_path / "bad_store.py").write_text("def f():\n    from scitune.cli import app\n")
    found = imports(tmp_path / "bad_store.py", set(GRAPH))
    assert found == [(2, "scitune.cli")] and tier_of("scitune.store.bad") < tier_of(found[0][1])
    graph = {"scitune.analysis.a": {"scitune.analysis.b"}, "scitune.analysis.b": {"scitune.analysis.a"}}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(graph).prepare()


def test_the_training_side_needs_nothing_heavy() -> None:
    """What training code imports stays light: the client and the schedules import no third-party
    package at all, and nothing of scitune's own beyond the base tier."""
    for name in ("scitune.training.client", "scitune.training.schedules"):
        tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
        third_party = [
            n for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for n in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
            if n.split(".")[0] not in {"__future__", "scitune", "json", "os", "math", "bisect", "contextlib",
                                      "pathlib", "typing", "collections"}
        ]
        assert not third_party, f"{name} imports {third_party}"
