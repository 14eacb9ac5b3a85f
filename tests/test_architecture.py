"""The house rules, read from the code's own imports (ast), so a change that breaks them fails here.

- dependencies point one way: ``emg`` -> ``feedback`` -> ``dsp``; ``dsp`` imports neither, ``feedback`` never ``emg``;
- no import circle between modules (imports inside functions count too);
- no module takes another module's private (underscore) names, and no module outside a package imports that
  package's private modules (``dsp._kernels`` is for ``dsp`` only); no module reads a private attribute
  (``obj._x``) that it does not define itself;
- Qt is imported only by the view (``feedback/view*.py``) and the tone player;
- ``emg/``'s top floor holds only the entry points: the command line, errors and the package face;
- every folder of ``emg/`` is a package with a docstring saying what lives there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dsp", "feedback", "emg")
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")
#: the view and its parts (feedback/view.py, feedback/view_*.py) and the tone may use Qt; nothing else
QT_ALLOWED = ("feedback.view", "feedback.tone")
EMG_TOP_FLOOR = {"emg", "emg.__main__", "emg.cli", "emg.errors"}


def _qt_allowed(mod: str) -> bool:
    return mod in QT_ALLOWED or mod.startswith("feedback.view_")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an imported dotted name refers to (longest known prefix), or None if foreign."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        cand = ".".join(parts[:k])
        if cand in MODULES:
            return cand
    return None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``module``, at any depth."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_pkg else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                # `from pkg import module` imports a module; `from module import name` a name
                if full in MODULES:
                    out.append((full, None, node.lineno))
                else:
                    out.append((base, alias.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod in MODULES:
        for target, _, _ in _imports(mod):
            dep = _resolve(target)
            if dep is not None and dep != mod:
                graph[mod].add(dep)
    return graph


def test_dependencies_point_one_way() -> None:
    allowed = {"dsp": {"dsp"}, "feedback": {"feedback", "dsp"}, "emg": {"emg", "feedback", "dsp"}}
    wrong = []
    for mod in MODULES:
        top = mod.split(".")[0]
        for target, _, line in _imports(mod):
            dep = _resolve(target)
            if dep is not None and dep.split(".")[0] not in allowed[top]:
                wrong.append(f"{MODULES[mod].relative_to(ROOT)}:{line} imports {dep}")
    assert not wrong, "imports against the one-way rule (emg -> feedback -> dsp):\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    # a package's face importing its own modules, which import each other through the face, is no circle of
    # modules; every other strongly connected set is
    real = [c for c in circles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c[1:])]
    assert not real, "import circles: " + "; ".join(" <-> ".join(c) for c in real)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_takes_another_modules_private_names() -> None:
    wrong = []
    for mod in MODULES:
        for target, name, line in _imports(mod):
            dep = _resolve(target)
            if dep is None or dep == mod:
                continue
            where = f"{MODULES[mod].relative_to(ROOT)}:{line}"
            if name is not None and _private(name):
                wrong.append(f"{where} takes {name} from {dep}")
            # a private module (dsp._kernels) is for its own package only
            private_parts = [p for p in dep.split(".") if _private(p)]
            if private_parts:
                owner = dep.split("." + private_parts[0])[0]
                if not (mod == owner or mod.startswith(owner + ".")):
                    wrong.append(f"{where} imports {dep}, private to {owner}")
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def _defined_private_names(tree: ast.AST) -> set[str]:
    """Underscore names a module defines: functions, classes, module variables, ``self._x = ...`` attributes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if _private(n)}


def test_no_module_reads_private_attributes_it_does_not_define() -> None:
    wrong = []
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _defined_private_names(tree)
        foreign_modules = {  # aliases of modules outside the project (argparse._SubParsersAction is theirs to name)
            (alias.asname or alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if _resolve(alias.name) is None
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)) or node.attr in own:
                continue
            base = node.value
            if isinstance(base, ast.Name) and base.id in {"self", "cls"} | foreign_modules:
                continue
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} reads {ast.unparse(node)}")
    assert not wrong, "private attributes read outside the module that defines them:\n" + "\n".join(wrong)


def test_qt_only_in_the_view() -> None:
    wrong = []
    for mod in MODULES:
        for target, _, line in _imports(mod):
            if target.split(".")[0] in QT_MODULES and not _qt_allowed(mod):
                wrong.append(f"{MODULES[mod].relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "Qt imported outside the view:\n" + "\n".join(wrong)


def test_emg_top_floor_holds_only_the_entry_points() -> None:
    top = {m for m in MODULES if m.startswith("emg") and m.count(".") <= 1 and MODULES[m].name != "__init__.py"}
    top |= {"emg"}
    assert top <= EMG_TOP_FLOOR, f"modules on emg/'s top floor that belong in a wing: {sorted(top - EMG_TOP_FLOOR)}"


@pytest.mark.parametrize(
    "folder",
    sorted(
        p for p in (ROOT / "emg").iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and any(p.glob("*.py"))
    ),
    ids=lambda p: p.name,
)
def test_every_wing_says_what_lives_there(folder: Path) -> None:
    init = folder / "__init__.py"
    assert init.is_file(), f"{folder.relative_to(ROOT)} has no __init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init.relative_to(ROOT)} has no docstring"
