"""The docs match the code (issue 11): README's map of the code names every file and package
of the apps and nothing else, and the import example in docs/commands.md is what the command
prints."""

import re
from pathlib import Path

from tests.helpers import Project

ROOT = Path(__file__).resolve().parents[1]
APPS = ("kozmo_secrets", "secrets_app", "audit_app")


def _map_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Map of the code", 1)[1]
    return section.split("```", 2)[1].splitlines()


def _named_in_map() -> dict[str, set[str]]:
    """app -> the file and folder names the map shows under it."""
    named: dict[str, set[str]] = {}
    app = None
    for line in _map_lines():
        top = re.match(r"^([a-z_]+)/", line)
        if top:
            app = top.group(1)
        if app in APPS:
            named.setdefault(app, set()).update(re.findall(r"[a-z_]+(?:\.py|/)", line))
    return named


def test_every_file_the_map_names_exists():
    named = _named_in_map()
    assert set(named) == set(APPS)
    for app, names in named.items():
        for name in names:
            hits = list((ROOT / app).rglob(name.rstrip("/"))) if name != f"{app}/" else [1]
            assert hits, f"README's map names {name} under {app}/, but there is none"


def test_every_module_and_package_is_on_the_map():
    named = _named_in_map()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT / app)
            if "migrations" in relative.parts or path.name in {"__init__.py", "apps.py"}:
                continue
            if relative.parts[0] == "management":
                continue  # the map names the commands by what they do
            if len(relative.parts) > 1:
                assert f"{relative.parts[0]}/" in named[app], f"{app}/{relative.parts[0]}/"
                continue
            if app == "kozmo_secrets" and path.name in {"wsgi.py", "asgi.py", "urls.py",
                                                        "settings.py"}:
                continue  # named in words on the first line
            assert path.name in named[app], f"{app}/{path.name} is missing from README's map"


def test_the_import_example_in_docs_commands_is_what_the_command_prints(tmp_path):
    """docs/commands.md shows an import of the test fixture, message for message: it is run
    here, so the example cannot drift from the command."""
    text = (ROOT / "docs" / "commands.md").read_text()
    block = text.split("Importing the test fixture:", 1)[1].split("```console\n", 1)[1]
    block = block.split("```", 1)[0]
    prompt, *shown = block.splitlines()
    env_assignment, command = prompt.removeprefix("$ ").split(" .venv/bin/python manage.py ")
    name, value = env_assignment.split("=", 1)
    project = Project(tmp_path)
    project.manage("migrate", "--noinput")
    result = project.manage(*command.split(), check=False, **{name: value})
    assert result.returncode == 1, result.stderr  # three entries fail, on purpose
    printed = (result.stdout + result.stderr).splitlines()
    assert printed == shown
