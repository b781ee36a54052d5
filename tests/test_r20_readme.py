"""R20: README's "Connect a program" runs as printed, after the curl walk-through, against a
live server: a service token, `kozmo run`, `kozmo get`, `kozmo env`, the credentials API."""

import json
import os
import re
import shutil
import subprocess

import pytest
from dotenv import dotenv_values

from secrets_app.services.secrets import create_secret
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def readme_block(after_heading: str) -> str:
    """The first ```bash block under a README heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {after_heading}\n", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_R20_readme_connect_a_program_runs_as_printed(live_server, admin_user, tmp_path):
    if not (ROOT / ".venv/bin/kozmo").exists():
        pytest.fail("make install puts the kozmo script in .venv/bin: run make install")
    # The walk-through's state this section continues from: the admin's token (step 1), the
    # secret of step 2, and default's POSTGRES_HOST that step 5 imports.
    from secrets_app.access.tokens import create_token

    _, key = create_token(admin_user, "my laptop")
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="s3cret",
                  profile="production")
    create_secret(admin_user, name="POSTGRES_HOST", key="POSTGRES_HOST",
                  value="db.internal.example.com")
    walkthrough = readme_block("A walk-through with curl")
    prelude = "\n".join(line for line in walkthrough.splitlines()
                        if line.startswith(("API=", "json()")))
    assert prelude.count("\n") == 1, "the walk-through defines API and json() on one line each"
    block = readme_block("Connect a program").replace("http://127.0.0.1:8000", live_server.url)
    script = f"set -euo pipefail\n{prelude}\nAUTH=\"Authorization: Token {key}\"\n{block}"
    script = script.replace("127.0.0.1:8000", live_server.url.removeprefix("http://"))
    # Run where README says (the project root) but write etl.env in a scratch copy of it.
    shutil.copytree(ROOT / ".venv/bin", tmp_path / ".venv/bin", symlinks=True)
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("KOZMO_")}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['POSTGRES_PASSWORD']"
    assert lines[1] == "s3cret"
    assert dotenv_values(tmp_path / "etl.env") == {"POSTGRES_PASSWORD": "s3cret"}
    assert json.loads(lines[2])["credentials"] == {"POSTGRES_PASSWORD": {
        "value": "s3cret", "source": "database", "profile": "production"}}
    assert "s3cret" not in result.stderr
