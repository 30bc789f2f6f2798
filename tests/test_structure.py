"""The layering the next person relies on: nothing below geo_api/routers imports a router."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo_api", "layers", "ingestion", "maps", "sql", "bench")


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every module a file imports, relative imports resolved against its own package."""
    out: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _router_imports_outside_routers() -> list[str]:
    bad = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT)
            module = ".".join(rel.with_suffix("").parts)
            if module.startswith("geo_api.routers") or module == "geo_api.app":
                continue  # the routers themselves, and the app that mounts them
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
            hits = sorted(m for m in _imports(tree, module)
                          if m == "geo_api.routers" or m.startswith("geo_api.routers."))
            bad.extend(f"{rel}: imports {m}" for m in hits)
    return bad


def test_nothing_below_the_routers_imports_a_router():
    """errors, edge, deps, services, the CLI and every domain package stay importable without the HTTP routes."""
    assert _router_imports_outside_routers() == []


def test_the_check_sees_lazy_and_relative_imports():
    """A function-level import and a relative one count too (how the old errors → open311 import hid)."""
    lazy = ast.parse("def f():\n    from geo_api.routers.open311 import render_errors\n")
    assert "geo_api.routers.open311" in _imports(lazy, "geo_api.errors")
    relative = ast.parse("from .routers import fleet\n")
    assert "geo_api.routers.fleet" in _imports(relative, "geo_api.cli")
