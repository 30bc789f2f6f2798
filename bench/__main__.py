"""Entry point: `python -m bench NAME [ARGS...]` runs the `run(argv)` function of bench/NAME.py."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def _available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def main() -> int:
    """Dispatch to one benchmark module."""
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print("usage: python -m bench NAME [ARGS...]\navailable: " + ", ".join(_available()))
        return 0 if len(sys.argv) >= 2 else 2
    name = sys.argv[1]
    if name not in _available():
        print(f"unknown benchmark {name!r}; available: {', '.join(_available())}", file=sys.stderr)
        return 2
    return importlib.import_module(f"bench.{name}").run(sys.argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main())
