"""The import graph of ``app/`` has no circle (issue #23's target), counting the imports
made inside functions too: a lazy import hides a circle from Python, not from a reader."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``app`` modules it imports anywhere in its source (generated code left out).

    ``from app.x import y`` counts as an import of ``app.x.y`` when that is a module,
    else of ``app.x``; ``from app import errors`` does not count as importing the package.
    """
    modules = {}
    for path in APP.rglob("*.py"):
        if "generated" in path.parts:
            continue
        name = ".".join(path.relative_to(APP.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("app"):
                submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                graph[module] |= submodules
                if node.module in modules and len(submodules) < len(node.names):
                    graph[module].add(node.module)
            elif isinstance(node, ast.Import):
                graph[module] |= {a.name for a in node.names} & modules.keys()
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, 1972), iteratively."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_app_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 50 and "app.extraction.rules" in graph["app.extraction.extractor"]
    assert circles(graph) == []


#: Arrows the issue named as going the wrong way (a lower layer importing a higher one):
#: (importing package, imported package). Prefix match on module names.
FORBIDDEN = (("app.ocr", "app.weights"), ("app.observability", "app.api"), ("app.jobs", "app"),
             ("app.domain", "app.extraction"), ("app.domain", "app.classify"), ("app.geometry", "app.extraction"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_lower_layer_imports_a_higher_one():
    graph = import_graph()
    wrong = [(m, i) for m, imported in graph.items() for i in imported for low, high in FORBIDDEN
             if _within(m, low) and (i == high if high == "app" else _within(i, high))]
    assert wrong == []
