"""Where things live: one file per stage, library packages that never reach up, no import circles, table files
named after their tables. Read from the source with `ast`, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ECHO = ROOT / "echo"
LIBRARY = ("sources", "filters", "llm", "media", "dedup", "release", "analyst", "report")
# What sits above the library: the run, its stages, the pipeline loop and the command line.
UPPER = ("echo.stages", "echo.pipeline", "echo.run", "echo.commands", "echo.cli", "flows")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every echo module a file imports, at the top or inside a function (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    me = _module_name(path)
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = me.split(".")[: -node.level + (1 if path.name == "__init__.py" else 0) or None]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from echo.llm import rules` names a module
    modules = {_module_name(p) for p in ECHO.rglob("*.py")}
    return {m for m in out if m in modules and m != me}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in ECHO.rglob("*.py")}


def test_library_packages_never_import_the_layers_above_them():
    bad = []
    for package in LIBRARY:
        for path in (ECHO / package).rglob("*.py"):
            for m in _imports(path):
                if any(m == u or m.startswith(u + ".") for u in UPPER):  # echo.runner is not echo.run
                    bad.append(f"{_module_name(path)} imports {m}")
    assert bad == []


def test_no_import_circles():
    graph = _graph()
    # package __init__ files that only gather their modules (echo.stages) are edges of their children, not circles
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if n.startswith(m + "."):  # a package importing its own submodule
                continue
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == []


def test_every_stage_is_a_file_with_run_and_a_docstring_that_says_what_it_reads_writes_and_when_it_is_done():
    from echo.stages import STAGES

    files = sorted(p.stem for p in (ECHO / "stages").glob("*.py") if p.stem != "__init__")
    assert sorted(s.__module__.rpartition(".")[2] for s in STAGES) == files
    for name in files:
        doc = ast.get_docstring(ast.parse((ECHO / "stages" / f"{name}.py").read_text(encoding="utf-8"))) or ""
        for word in ("Reads:", "Writes:", "Done:"):
            assert word in doc, f"echo/stages/{name}.py: the docstring says nothing after {word!r}"


def test_the_library_holds_no_stage_entry_point():
    for package in LIBRARY:
        for path in (ECHO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            runs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("run")
                    and n.args.args and n.args.args[0].arg == "ctx"]
            assert runs == [], f"{path.relative_to(ROOT)} defines {runs}"


def test_each_table_file_creates_the_table_it_is_named_after():
    for f in sorted((ROOT / "schemas" / "tables").glob("*.sql")):
        created = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", f.read_text(encoding="utf-8"))
        assert created == [f.stem], f"{f.name} creates {created}"
