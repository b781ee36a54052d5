"""README and docs lines a newcomer followed as printed (issue 13, R20)."""

import re
import subprocess

from tests.helpers import ROOT


def test_newcomer_readme_profiles_line_keeps_the_profile_the_readme_just_used():
    """README "Mage AI files as they are": "Profiles are yours to name: add
    `SECRETS_PROFILES=default,dev,prod` to `.env` and restart." Done as printed after
    "Connect a program", it drops `production`: the `etl` token made two sections earlier then
    fails with exit 8 "unknown profile 'production'", and the walk-through's production
    secrets become unusable (kozmo.W002). The line should keep the profiles in use."""
    readme = (ROOT / "README.md").read_text()
    settings = re.findall(r"SECRETS_PROFILES=([a-z0-9_,-]+)", readme)
    assert settings, "README shows no SECRETS_PROFILES line"
    for value in settings:
        assert "production" in value.split(","), value


def test_newcomer_readme_etl_env_is_not_left_for_git_to_commit():
    """README "Connect a program" step 3: `.venv/bin/kozmo env --profile production > etl.env`
    writes a plaintext password into the project root (mode 0644 under the usual umask);
    `git status` then shows `?? etl.env`, one `git add -A` from a commit. .gitignore covers
    `.env` but not this file."""
    readme = (ROOT / "README.md").read_text()
    assert "> etl.env" in readme
    ignored = subprocess.run(["git", "check-ignore", "-q", "etl.env"], cwd=ROOT)
    assert ignored.returncode == 0, "etl.env (README's own output file) is not git-ignored"


def test_newcomer_access_md_lists_credentials_among_what_a_service_token_may_do():
    """docs/access.md "Service tokens" → "What it may do" lists list, read, decrypt, count
    and SSH tunnel, but not GET /credentials/, which docs/api.md calls "its main use"; and
    the recipe a connector is sent to (client.md links it) reads with search + decrypt by id,
    never naming /credentials/ or kozmo."""
    access = (ROOT / "docs" / "access.md").read_text()
    section = access.split("## Service tokens", 1)[1].split("\n## ", 1)[0]
    may_do = section.split("**What it may do.**", 1)[1].split("\n\n", 1)[0]
    assert "credentials" in may_do, may_do
    recipe = access.split("## Recipe: a token for a connector", 1)[1].split("\n## ", 1)[0]
    assert "/credentials/" in recipe or "kozmo" in recipe
