"""The layout tells the architecture: `core` imports no area, and no `app` module is part
of an import cycle (function-level imports included: they hide cycles, they do not break
them)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import APP


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in APP.rglob("*.py") if "migrations" not in p.parts}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The app modules `path` imports, anywhere in it (`from app.x import y` counts as
    app.x.y when y is a module, else app.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in known:
                found.add(name)
            elif name.rsplit(".", 1)[0] in known and name not in known:
                found.add(name.rsplit(".", 1)[0])
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # A package's __init__ importing its own sub-modules is not a dependency on them.
        graph[name] = {m for m in _imports(path, known) if m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def test_the_graph_sees_function_level_imports():
    graph = _graph()
    assert "app.readiness.services" in graph["app.demo.immersion"]


def test_no_module_of_app_is_part_of_an_import_cycle():
    graph = _graph()
    # The app package's own __init__ (the factory) imports every area by design.
    graph["app"] = set()
    cycles = _cycles(graph)
    assert not cycles, "import cycles among app modules: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_core_imports_no_area():
    graph = _graph()
    bad = {
        module: sorted(
            m
            for m in imported
            if not (m.startswith("app.core") or m == "app.extensions" or m == "app.config")
        )
        for module, imported in graph.items()
        if module.startswith("app.core")
    }
    bad = {module: areas for module, areas in bad.items() if areas}
    assert not bad, f"core modules importing areas (core is the bottom layer): {bad}"


def test_access_policies_are_built_in_policies_modules_not_in_routes():
    """One access model: each area's `policies.py` loads and checks the objects its URLs
    name; a route only declares which policy it uses."""
    built_in_routes = []
    for path in APP.rglob("routes.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("Policy", "object_policy"):
                    built_in_routes.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert not built_in_routes, f"policies built in routes (move to policies.py): {built_in_routes}"
