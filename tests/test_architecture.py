"""The package's stages and import rules, checked (README "How it is built").

- ``lint-imports`` (import-linter, rules in pyproject.toml): the CLI over the web over the query
  side; the build pipeline and the query side independent; query and web never import the
  pipeline, the validators, pySHACL or owlrl.
- Other packages import a stage only through its ``__init__`` (its public surface).
- No import circles between modules (module-level and function-level imports alike).
- Importing the server or a query worker leaves the builder, the validators and their engines
  out of ``sys.modules``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

SRC = ROOT / "src"
STAGES = ("pipeline", "validation", "query", "web")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[tuple[str, int]]]:
    """Every module of ``kg`` → the ``kg`` modules it imports (with the line), at any depth."""
    modules = {_module_name(p): p for p in (SRC / "kg").rglob("*.py")}
    out: dict[str, set[tuple[str, int]]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[tuple[str, int]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "kg"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "kg":
                    continue
                for alias in node.names:  # `from pkg import module` names a module
                    sub = f"{target}.{alias.name}"
                    found.add((sub if sub in modules else target, node.lineno))
        out[name] = {(t, line) for t, line in found if t in modules}
    return out


def test_import_rules_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_stages_are_imported_only_through_their_public_surface():
    wrong = []
    for module, targets in _imports().items():
        for target, line in targets:
            parts = target.split(".")
            if len(parts) > 2 and parts[1] in STAGES and not module.startswith(f"kg.{parts[1]}"):
                wrong.append(f"{module}:{line} imports {target}; import kg.{parts[1]} instead")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circles():
    graph = {m: {t for t, _ in ts if t != m} for m, ts in _imports().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_server_and_worker_leave_the_builder_unloaded():
    code = (
        "import sys, kg.web.app, kg.query.workers, kg.query.service\n"
        "heavy = ('pyshacl', 'owlrl', 'reasonable', 'shacl', 'kg.pipeline', 'kg.validation')\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"loaded by the server or a worker:\n{done.stdout}"
    # and the check can see them: the builder does load them
    done = subprocess.run([sys.executable, "-c", code.replace("kg.web.app, ", "kg.pipeline, ")],
                          capture_output=True, text=True, check=True)
    assert "owlrl" in done.stdout.split() or "kg.pipeline" in done.stdout.split()
