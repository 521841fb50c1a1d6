"""The layout's rules (docs/architecture.md), checked on every run: dependencies point one way,
no import cycles, no file too long to read, every folder says what lives in it.

import-linter (pyproject.toml, run by `make test`) checks the layers; these checks cover what
its contracts cannot say."""

from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.stage import ROOT

MAX_LINES = 400


def _sources() -> list[Path]:
    return [
        ROOT / "app.py",
        *sorted((ROOT / "chalicelib").rglob("*.py")),
        *sorted((ROOT / "kyc_service").rglob("*.py")),
    ]


def _cycles() -> list[set[str]]:
    """Strongly connected components (more than one module) of the import graph."""
    import grimp

    graph = grimp.build_graph("chalicelib", "kyc_service", cache_dir=None, exclude_type_checking_imports=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:  # Tarjan
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles():
    assert _cycles() == []


def test_lambda_code_imports_nothing_of_the_local_tools():
    importers = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "kyc_service" or n.startswith("kyc_service.") for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == set()


def test_no_source_file_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_folder_says_what_lives_there():
    silent = []
    for init in [*(ROOT / "chalicelib").rglob("__init__.py"), *(ROOT / "kyc_service").rglob("__init__.py")]:
        doc = ast.get_docstring(ast.parse(init.read_text()))
        if not doc or not doc.strip():
            silent.append(init.relative_to(ROOT).as_posix())
    assert silent == []
