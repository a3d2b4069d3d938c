"""The package layout is the architecture: imports point down the layers, and no module imports itself back.

Layers, lowest first (a module may import its own layer's modules within its own package, and any lower
layer; the format packages never import each other):

0. ``errors``, ``problems``, ``files``, ``data``, ``filetypes``, ``archive``: what everything shares
1. ``format``: the national format as data
2. ``report``: the data contract (schema, rules, validation, skeleton, blocks)
3. ``tables``: a grid of cells ↔ report data by labels, shared by every reader and writer
4. ``document``: paragraphs and tables in reading order → report data, shared by every reader
5. ``docx``, ``pdf``, ``html``, ``xlsx``: one package per file format
6. ``__init__`` (the public API), ``audit``, ``reading``, ``sources``, ``build``, ``convert``: what the interfaces call
7. ``cli``, ``batch``, ``web``: the interfaces

Every import counts, also the ones inside functions (lazy imports are still dependencies).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "docxreport"

LAYERS: dict[str, int] = {
    "errors": 0, "problems": 0, "files": 0, "data": 0, "filetypes": 0, "archive": 0,
    "format": 1,
    "report": 2,
    "tables": 3, "document": 4,
    "docx": 5, "pdf": 5, "html": 5, "xlsx": 5,
    "__init__": 6, "audit": 6, "reading": 6, "sources": 6, "build": 6, "convert": 6, "outputs": 6,
    "__main__": 7, "cli": 7, "batch": 7, "web": 7,
}
FORMAT_PACKAGES = {"docx", "pdf", "html", "xlsx"}
#: Third-party libraries of one file format: only that format's package (or the interfaces) may import them.
FORMAT_LIBRARIES = {"docx": "docx", "docxtpl": "docx", "openpyxl": "xlsx", "pdfplumber": "pdf", "pdfminer": "pdf"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The docxreport modules an ``import from`` names (relative or absolute)."""
    if node.level:
        base = module.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("docxreport"):
        return []
    names = [f"{target}.{a.name}" for a in node.names]
    return [target, *names]


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for target in _resolve(name, path.name == "__init__.py", node):
                    while target and target not in modules:  # a name imported from a module: the module
                        target = target.rpartition(".")[0]
                    if target and target != name:
                        found.add(target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("docxreport"))
        graph[name] = {t.removesuffix(".__init__") for t in found}
    return {k.removesuffix(".__init__"): v for k, v in graph.items()}


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer() -> None:
    unplaced = sorted({_top(m) for m in _imports(_modules())} - LAYERS.keys())
    assert not unplaced, f"add these to LAYERS (and to the README's layout): {unplaced}"


def test_imports_point_down_the_layers() -> None:
    graph = _imports(_modules())
    wrong = []
    for module, targets in graph.items():
        here = _top(module)
        for target in targets:
            there = _top(target)
            if here == there:
                continue
            if LAYERS[there] > LAYERS[here]:
                wrong.append(f"{module} → {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_format_packages_are_independent() -> None:
    graph = _imports(_modules())
    crossing = [f"{m} → {t}" for m, ts in graph.items() for t in ts
                if _top(m) in FORMAT_PACKAGES and _top(t) in FORMAT_PACKAGES and _top(m) != _top(t)]
    assert not crossing, crossing


def test_file_format_libraries_stay_in_their_package() -> None:
    wrong = []
    for name, path in _modules().items():
        here = _top(name)
        if LAYERS.get(here, 0) >= 6:  # the API and the interfaces may use anything
            continue
        for library in _third_party(path):
            owner = FORMAT_LIBRARIES.get(library)
            if owner is not None and owner != here:
                wrong.append(f"{name} imports {library} (belongs in docxreport.{owner})")
    assert not wrong, wrong


def test_no_import_cycles() -> None:
    graph = _imports(_modules())
    # a package's __init__ importing its own submodules to re-export them is not a cycle of concerns
    edges = {m: {t for t in ts if not (t.startswith(m + ".") or m.startswith(t + "."))} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules above must be able to fail: a lower layer importing a higher one is caught."""
    tree = ast.parse("from ..docx.renderer import render\n")
    node = tree.body[0]
    assert isinstance(node, ast.ImportFrom)
    targets = _resolve("docxreport.report.validation", False, node)
    assert "docxreport.docx.renderer" in targets
    assert LAYERS[_top("docxreport.docx.renderer")] > LAYERS[_top("docxreport.report.validation")]
