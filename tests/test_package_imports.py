"""The import graph of barenet: rings that import only downwards, and no circle.

Every import counts: lazy ones inside functions, and those under ``if TYPE_CHECKING:``
(they do not run, but a reader follows them all the same). ``from pkg import name`` is an
edge to the module ``pkg.name`` when there is one, else to ``pkg`` itself.
"""

import ast
from pathlib import Path

import barenet

SOURCE = Path(barenet.__file__).parent


def module_name(path: Path) -> str:
    parts = ["barenet", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("barenet")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("barenet"):
                target = node.module
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    return found - {name}


def graph() -> dict[str, set[str]]:
    paths = list(SOURCE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports(p, modules) & modules for p in paths}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


#: The rings, lowest first: a module imports from its own package or a lower rank only
#: (docs/architecture.md). ``nn`` and ``io`` share a rank and import nothing of each other.
RANKS = {"errors": 0, "version": 0, "nn": 1, "io": 1, "model": 2, "vision": 3, "data": 4,
         "evaluation": 5, "train": 6, "app": 7, "cli": 8, "barenet": 9}


def ring(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_the_import_graph_has_no_circle():
    edges = graph()
    assert "barenet.model.file" in edges["barenet.model.classifier"]
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle)


def test_imports_run_down_the_rings():
    edges = graph()
    assert set(RANKS) == {ring(m) for m in edges}, "a new package needs a rank"
    upward = [f"{a} -> {b}" for a, targets in edges.items() for b in targets
              if ring(b) != ring(a) and RANKS[ring(b)] >= RANKS[ring(a)]]
    assert not upward, upward


def test_the_network_imports_nothing_of_barenet_but_errors():
    edges = graph()
    outside = [f"{a} -> {b}" for a, targets in edges.items() if ring(a) == "nn"
               for b in targets if ring(b) not in ("nn", "errors")]
    assert not outside, outside


def test_few_modules_sit_loose_at_the_top():
    loose = sorted(p.name for p in SOURCE.glob("*.py"))
    assert len(loose) <= 6, loose


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_imports_no_gui_and_no_plotting():
    edges = graph()
    core = [m for m in edges if not m.startswith(("barenet.app", "barenet.cli"))]
    for module in core:
        source = (SOURCE / Path(*module.split(".")[1:])).with_suffix(".py")
        if not source.exists():
            source = SOURCE / Path(*module.split(".")[1:]) / "__init__.py"
        assert "import tkinter" not in source.read_text(encoding="utf-8"), module


def test_every_import_of_barenet_names_something_that_exists():
    """Lazy imports inside functions run only when called: check them all now."""
    import importlib

    paths = list(SOURCE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    missing = []
    for path in paths:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            module = importlib.import_module(target)
            missing += [f"{name}: {target}.{alias.name}" for alias in node.names
                        if alias.name != "*" and not hasattr(module, alias.name)
                        and f"{target}.{alias.name}" not in modules]
    assert not missing, missing


def test_only_the_kernels_start_worker_threads():
    """Thread pools and BLAS thread limits live in nn/kernels (the app's one reader thread
    and the trainer's check of the main thread are not the network's work)."""
    users = [str(path.relative_to(SOURCE)) for path in SOURCE.rglob("*.py")
             if path.parent.name != "kernels"
             and any(name in path.read_text(encoding="utf-8")
                     for name in ("ThreadPoolExecutor", "threadpoolctl"))]
    assert not users, users
