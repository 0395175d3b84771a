"""Share of public functions with full type hints, per folder (issue 16 item 4).

A public function is a module-level function or a method of a public class (``__init__``
included) whose name does not start with ``_``; it counts as hinted when every parameter but
``self``/``cls`` is annotated and it has a return annotation.

    python scripts/hint_coverage.py studio pipeline/text        # one line per folder
    python scripts/hint_coverage.py -v studio                   # and the functions that lack hints
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterator


def public_functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, funcs) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for sub in node.body:
                if isinstance(sub, funcs) and (not sub.name.startswith("_") or sub.name == "__init__"):
                    yield f"{node.name}.{sub.name}", sub


def hinted(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []),
              *([a.kwarg] if a.kwarg else [])]
    return fn.returns is not None and all(p.annotation is not None for p in params if p.arg not in ("self", "cls"))


def coverage(folder: str | Path) -> tuple[int, int, list[str]]:
    """(hinted, total, the unhinted as 'path:line name')."""
    total, good, missing = 0, 0, []
    for path in sorted(Path(folder).rglob("*.py")):
        for name, fn in public_functions(ast.parse(path.read_text(encoding="utf-8"))):
            total += 1
            if hinted(fn):
                good += 1
            else:
                missing.append(f"{path}:{fn.lineno} {name}")
    return good, total, missing


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args
    for folder in [a for a in args if a != "-v"]:
        good, total, missing = coverage(folder)
        print(f"{folder}: {good}/{total} = {100 * good / max(total, 1):.0f} %")
        if verbose:
            print("\n".join(f"  {m}" for m in missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
