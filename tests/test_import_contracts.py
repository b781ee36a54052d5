"""The import contracts in pyproject.toml ([tool.importlinter]) hold: audit_app stands on its
own, formats has no ORM, the ways in sit above the services, the services above the models, no
import cycles. `make test` checks them as well as `make lint` and CI."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
