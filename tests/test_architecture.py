"""The layer rules of ARCHITECTURE.md, checked on the source: no import circles between
modules, no import against the layer order, `synth` only in the demo, and no private module
imported from outside its package.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Stage packages from the top layer to the bottom one; a package imports only its own layer
#: or lower ones. Packages on one line share a layer (and may import each other's modules).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__", "cli"),
    ("demo", "run"),
    ("serve",),
    ("report",),
    ("studies",),
    ("spark",),
    ("federated",),
    ("evaluate",),
    ("features",),
    ("mining",),
    ("nlp",),
    ("surveillance", "forecast"),
    ("pgx",),
    ("privacy",),
    ("quality",),
    ("ingest",),
    ("fhir",),
    ("synth",),
    ("warehouse",),
    ("errors", "config", "__root__"),
)

#: Simulated data reaches analyses only through the demo (and tests and benchmarks).
SYNTH_USERS = {"demo", "synth"}


def module_files(src: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under `src`."""
    mods = {}
    for p in src.rglob("*.py"):
        parts = list(p.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def import_graph(src: Path, root: str = "medmine") -> dict[str, set[str]]:
    """Module -> modules of `root` it imports (resolved to the deepest existing module)."""
    mods = module_files(src)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        if not name.startswith(root):
            continue
        is_pkg = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.split(".")[0] == root)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != root:
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    targets.add(sub if sub in mods else target)
        resolved = set()
        for t in targets:
            while t not in mods and "." in t:
                t = t.rsplit(".", 1)[0]
            if t != name:
                resolved.add(t)
        graph[name] = resolved
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__root__"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports against the layer order, of `synth` outside the demo, of unknown packages."""
    rank = {pkg: len(LAYERS) - i for i, layer in enumerate(LAYERS) for pkg in layer}
    out = []
    for mod, targets in sorted(graph.items()):
        a = _package(mod)
        for t in sorted(targets):
            b = _package(t)
            if a == b:
                continue
            if a not in rank or b not in rank:
                out.append(f"{mod} -> {t}: package not in the layer list")
            elif rank[b] > rank[a]:
                out.append(f"{mod} -> {t}: {a} may not import {b} (a higher layer)")
            elif b == "synth" and a not in SYNTH_USERS:
                out.append(f"{mod} -> {t}: only the demo may hand simulated data to a stage")
    return out


def private_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a private module (``pkg/_name.py``) from outside its package ``pkg``."""
    out = []
    for mod, targets in sorted(graph.items()):
        for t in sorted(targets):
            parts = t.split(".")
            private = [i for i, p in enumerate(parts) if p.startswith("_") and p != "__main__"]
            if not private:
                continue
            owner = ".".join(parts[: private[0]])
            if not (mod == owner or mod.startswith(owner + ".")):
                out.append(f"{mod} -> {t}: private to {owner}")
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(SRC)


def test_no_import_cycles_between_modules(graph):
    assert cycles(graph) == []


def test_imports_follow_the_layer_order(graph):
    assert layer_violations(graph) == []


def test_no_private_module_is_imported_from_another_package(graph):
    assert private_imports(graph) == []


def test_every_stage_package_is_in_the_layer_list(graph):
    known = {p for layer in LAYERS for p in layer}
    assert {_package(m) for m in graph} <= known


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_checker_finds_the_circles_and_upward_imports_of_the_old_layout(tmp_path):
    # The shape of the code before the reshaping: cli -> pipeline -> ingest.demo_steps -> cli,
    # a study importing synth, and a report helper imported privately across packages.
    src = _write(
        tmp_path,
        {
            "medmine/__init__.py": "",
            "medmine/cli.py": "from medmine.pipeline import run_demo\n",
            "medmine/pipeline.py": "def f():\n    from medmine.ingest.demo_steps import step\n",
            "medmine/ingest/__init__.py": "",
            "medmine/ingest/demo_steps.py": "def step():\n    from medmine.cli import app\n",
            "medmine/studies/__init__.py": "",
            "medmine/studies/claims_fraud.py": "from medmine.synth import fraud\n",
            "medmine/synth/__init__.py": "",
            "medmine/report/__init__.py": "from medmine.studies._report import x\n",
            "medmine/studies/_report.py": "x = 1\n",
        },
    )
    g = import_graph(src)
    assert ["medmine.cli", "medmine.ingest.demo_steps", "medmine.pipeline"] in cycles(g)
    problems = layer_violations(g)
    assert any("medmine.ingest.demo_steps -> medmine.cli" in p for p in problems)
    assert any("only the demo" in p for p in problems)
    assert any("pipeline" in p and "not in the layer list" in p for p in problems)
    assert private_imports(g) == ["medmine.report -> medmine.studies._report: private to "
                                  "medmine.studies"]  # fmt: skip


def test_checker_reads_relative_and_type_checking_imports(tmp_path):
    src = _write(
        tmp_path,
        {
            "medmine/__init__.py": "",
            "medmine/quality/__init__.py": "",
            "medmine/quality/a.py": "from .b import y\n",
            "medmine/quality/b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from medmine.quality.a import z\n"
            ),
        },
    )
    assert cycles(import_graph(src)) == [["medmine.quality.a", "medmine.quality.b"]]


#: Names that mirror a stage on purpose: the CLI has one module per command group, and
#: ARCHITECTURE.md puts the FHIR reader in ``ingest/fhir`` beside the ``fhir`` views package.
NAMED_LIKE_A_STAGE_ON_PURPOSE = {"medmine.ingest.fhir"}


def test_no_module_is_named_like_another_stage_package(graph):
    stages = {p for layer in LAYERS for p in layer} - {"__root__", "__main__"}
    offenders = sorted(
        m
        for m in graph
        if len(m.split(".")) > 2
        and m.split(".")[-1].lstrip("_") in stages
        and _package(m) != "cli"
        and m not in NAMED_LIKE_A_STAGE_ON_PURPOSE
        and not any(m.startswith(p + ".") for p in NAMED_LIKE_A_STAGE_ON_PURPOSE)
    )
    assert offenders == []
