"""B9 (low): `kozmo env` (and `resolve_credential --format dotenv`, which uses the same
writer) writes KEY="value" with `$(...)` and backticks as they are. A .env file is very often
read by a shell (`set -a; . ./.env`, a Makefile, an entrypoint script): a value stored by
whoever may edit the profile then runs as a command on the reader's machine. export_secrets'
dotenv writer single-quotes the same values (shell-safe). FAILS while open."""

import shutil
import subprocess

import pytest

from kozmo_secrets import client


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs sh")
@pytest.mark.parametrize("payload", ["$(touch {marker})", "`touch {marker}`"])
def test_B9_kozmo_env_dotenv_sourced_by_a_shell_runs_a_stored_value(tmp_path, payload):
    marker = tmp_path / "PWNED"
    env_file = tmp_path / "app.env"
    env_file.write_text(client.dotenv({"APP_TOKEN": payload.format(marker=marker)}))
    subprocess.run(["sh", "-c", f"set -a; . {env_file}"], check=False, timeout=30)
    assert not marker.exists(), env_file.read_text()
