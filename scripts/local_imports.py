"""Function-local imports that buy nothing: the module is loaded anyway by importing its file.

The rule (docs/architecture.md): an import goes inside a function only where it buys start-up time,
that is where importing the file does not load that module already (torch, librosa, a renderer,
the procedural library, ...). A local import that is needed for another reason (an import cycle, a
library that loads a part only on attribute access) says so in a comment on its line or the line
above. This script imports each module of pipeline/ and studio/ in a fresh interpreter and lists
the local imports that break the rule; it prints nothing else and exits 1 when it finds one.

    python scripts/local_imports.py            # from the repository root
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("pipeline", "studio")

_PROBE = """
import importlib.util, json, sys
import {module}
loaded = set(sys.modules)
def present(target, names):
    if target not in loaded:
        return False
    for name in names:
        sub = f"{{target}}.{{name}}"
        try:
            spec = importlib.util.find_spec(sub)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and sub not in loaded:
            return False
    return True
print(json.dumps([present(t, n) for t, n in {targets!r}]))
"""


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def local_imports(path: Path) -> list[tuple[int, str, list[str], bool]]:
    """(line, module, imported names, commented) of each function-local import of ``path``."""
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: dict[int, tuple[int, str, list[str], bool]] = {}
    for fn in ast.walk(ast.parse(src)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                target = ".".join([*base, *([node.module] if node.module else [])])
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                target, names = node.names[0].name, []
            else:
                continue
            line = lines[node.lineno - 1]
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            found[node.lineno] = (node.lineno, target, names, "#" in line or above.startswith("#"))
    return sorted(found.values())


def offenders() -> list[str]:
    out = []
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            sites = [s for s in local_imports(path) if not s[3]]
            if not sites:
                continue
            probe = _PROBE.format(module=_module_name(path), targets=[(t, n) for _, t, n, _ in sites])
            run = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                                 env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
            if run.returncode:
                out.append(f"{path.relative_to(REPO)}: cannot be imported on its own: {run.stderr.strip()[-300:]}")
                continue
            for (line, target, _, _), loaded in zip(sites, json.loads(run.stdout.strip().splitlines()[-1])):
                if loaded:
                    out.append(f"{path.relative_to(REPO)}:{line}: {target} is loaded by importing the file already")
    return out


if __name__ == "__main__":
    found = offenders()
    print("\n".join(found))
    raise SystemExit(1 if found else 0)
