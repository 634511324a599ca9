"""Dead-code check (CI): code of the package that nothing but tests uses. Exit status 1 with one line per
finding.

Three checks, by reading the source (nothing is imported):

1. modules: every module of ``arcloop`` is reachable by imports from the console script
   (``arcloop.cli``), from a dotted name written in the package (``"arcloop.surrogates.gp:GPSurrogate"``
   in the registry), or from ``benchmarks/`` and ``scripts/``;
2. names: every module-level function, class and upper-case constant of the package is used somewhere in
   the package, ``benchmarks/`` or ``scripts/``; an import, a re-export or an ``__all__`` entry is not a use
   (that is what hides a helper only tests call);
3. attributes and methods: ``vulture`` at 60 % confidence over the same folders, with the deliberate
   entries (pydantic validators, Typer commands, API kept for users) in ``scripts/vulture_whitelist.py``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "arcloop"
USERS = ("benchmarks", "scripts")  # code that is not the package but is part of the product
ENTRY_MODULES = ("arcloop.cli",)
# Text that names modules to run (``python -m arcloop.flows.deployments``): the README and shell scripts.
COMMAND_TEXTS = ("README.md", "scripts/*.sh", ".ci/run")
WHITELIST = ROOT / "scripts" / "vulture_whitelist.py"
# Called by a framework, not by our code: Typer commands, pydantic validators and settings, torch modules.
VULTURE_DECORATORS = "@*.command,@*.callback,@field_validator,@model_validator"
VULTURE_NAMES = "model_config,forward"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_files() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def user_files() -> list[Path]:
    return [path for folder in USERS for path in sorted((ROOT / folder).rglob("*.py"))]


def imported_modules(tree: ast.AST, here: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules of the package that ``tree`` imports or names in a string ("arcloop.x.y", "arcloop.x:y")."""
    found: set[str] = set()
    base = here if is_package else here.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base.split(".")[: len(base.split(".")) - node.level + 1]
                stem = ".".join(parent + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.split(":")[0]
            if text.startswith(PACKAGE + ".") and " " not in text:
                targets = [text]
        for target in targets:
            parts = target.split(".")
            # importing a.b.c imports a and a.b too
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                if candidate in known:
                    found.add(candidate)
    return found


def unreachable_modules(files: dict[str, Path]) -> list[str]:
    known = set(files)
    edges = {
        name: imported_modules(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
        for name, path in files.items()
    }
    roots = set(ENTRY_MODULES)
    for pattern in COMMAND_TEXTS:
        for text_file in ROOT.glob(pattern):
            named = re.findall(rf"\b{PACKAGE}(?:\.\w+)+", text_file.read_text())
            roots |= {name for name in named if name in known}
    for path in user_files():
        roots |= imported_modules(ast.parse(path.read_text()), "", False, known)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in edges:
            continue
        seen.add(name)
        parent = name.rpartition(".")[0]
        stack.extend(edges[name] | ({parent} if parent else set()))
    return sorted(known - seen)


def definitions(tree: ast.Module) -> list[tuple[str, int]]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if not node.decorator_list:  # a decorator registers it (a Typer command, a Prefect task)
                found.append((node.name, node.lineno))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper() and not target.id.startswith("__"):
                    found.append((target.id, node.lineno))
    return found


def used_names(tree: ast.Module) -> set[str]:
    """Names read as a variable or an attribute, or written in a "module:attribute" string."""
    skip: set[int] = set()
    for node in tree.body:  # __all__ = [...] is a listing, not a use
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skip |= {id(child) for child in ast.walk(node)}
    used: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
            used.add(node.value.rpartition(":")[2])
        elif isinstance(node, ast.ClassDef):
            used |= {base.id for base in node.bases if isinstance(base, ast.Name)}
    return used


def unused_definitions(files: dict[str, Path]) -> list[str]:
    trees = {path: ast.parse(path.read_text()) for path in [*files.values(), *user_files(), WHITELIST]}
    used: set[str] = set()
    for tree in trees.values():
        used |= used_names(tree)
    findings = []
    for path in files.values():
        for name, line in definitions(trees[path]):
            if name not in used and not name.startswith("__"):
                findings.append(f"{path.relative_to(ROOT)}:{line}: {name} is used by nothing but tests")
    return findings


def vulture_findings() -> list[str]:
    command = [sys.executable, "-m", "vulture", PACKAGE, *USERS, str(WHITELIST.relative_to(ROOT))]
    command += ["--min-confidence", "60", "--ignore-decorators", VULTURE_DECORATORS]
    command += ["--ignore-names", VULTURE_NAMES]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 3):  # 3: dead code found
        raise SystemExit(f"vulture failed: {done.stderr.strip() or done.stdout.strip()}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def main() -> int:
    files = package_files()
    findings = [f"{name}: module imported by nothing but tests" for name in unreachable_modules(files)]
    findings += unused_definitions(files)
    findings += vulture_findings()
    for finding in findings:
        print(finding)
    print(f"dead-code check: {len(findings)} finding(s) in {len(files)} modules", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
