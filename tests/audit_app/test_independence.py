"""audit_app is the ground floor: nothing in it imports secrets_app, directly or through the
project modules it uses (kozmo_secrets). Migrations count too; a dependency on another app's
migration by label is not an import."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("audit_app", "kozmo_secrets", "secrets_app")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py too.
    parents = {name.rsplit(".", depth)[0]
               for name in names for depth in range(1, name.count(".") + 1)}
    return {name for name in names | parents if name.split(".")[0] in PROJECT}


def source_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None  # a name imported from a module, not a module


def test_audit_app_imports_nothing_from_secrets_app():
    todo = [(path, "audit_app") for path in sorted((ROOT / "audit_app").rglob("*.py"))]
    seen = set()
    offenders = []
    while todo:
        path, via = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            if module.split(".")[0] == "secrets_app":
                offenders.append(f"{path.relative_to(ROOT)} imports {module} (via {via})")
            elif (source := source_of(module)) is not None:
                todo.append((source, f"{via} -> {module}"))
    assert offenders == []
    assert ROOT / "kozmo_secrets" / "audited_command.py" in seen  # the walk follows imports
