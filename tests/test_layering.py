"""The package's stages import only earlier stages: data flows one way (qa.STAGES)."""

from __future__ import annotations

import ast
from pathlib import Path

import qa

PACKAGE = Path(qa.__file__).resolve().parent


def _stage(module: str) -> str:
    """'qa.store.db' -> 'store'."""
    return module.split(".")[1]


def _imports(path: Path) -> set[str]:
    """Every qa module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "qa":
                found |= {f"qa.{a.name}" for a in node.names}
            elif node.module.startswith("qa."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qa.")}
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        name = ".".join(("qa", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("qa", *parts))
        if name != "qa":
            out[name] = path
    return out


def test_every_module_is_a_listed_stage():
    unlisted = {_stage(m) for m in _modules()} - set(qa.STAGES)
    assert not unlisted, f"add these to qa.STAGES in order: {sorted(unlisted)}"


def test_no_module_imports_a_later_stage():
    order = {name: i for i, name in enumerate(qa.STAGES)}
    backward = []
    for module, path in _modules().items():
        own = _stage(module)
        for imported in _imports(path):
            if order[_stage(imported)] > order[own]:
                backward.append(f"{module} imports {imported}")
    assert not backward, backward


def test_the_public_api_resolves():
    for name in qa.__all__:
        assert getattr(qa, name) is not None
