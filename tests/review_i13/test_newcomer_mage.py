"""A Mage io_config.yaml, imported with `--templates skip` as README "Mage AI files as they
are" suggests for Mage's `mage_secret_var` (issue 13, seen through `kozmo`)."""

from pathlib import Path

import pytest

from secrets_app.services.bulk import import_file
from secrets_app.services.credentials import fetch_credentials

pytestmark = pytest.mark.django_db
MAGE = Path(__file__).resolve().parents[1] / "fixtures" / "mage_io_config.yaml"


def test_newcomer_a_skipped_prod_override_says_prod_will_read_defaults_value(admin_user):
    """tests/fixtures/mage_io_config.yaml: `default` has POSTGRES_PASSWORD: password and
    `production` overrides it with "{{ mage_secret_var('postgres_password') }}". With
    templates=skip the override is reported only as "unsupported template ... skip leaves it
    out"; production then silently serves default's value ("password", source database,
    profile default) to `kozmo get POSTGRES_PASSWORD --profile production` with an admin's
    token: a prod job gets the dev/placeholder password. docs/commands.md warns of this
    fallback for a `null` override only. The skip report should say so."""
    summary = import_file(MAGE.read_bytes(), user=admin_user, templates="skip")
    served = fetch_credentials(admin_user, "production", ["POSTGRES_PASSWORD"]).as_dict()
    answer = served["credentials"]["POSTGRES_PASSWORD"]
    assert (answer["value"], answer["profile"]) == ("password", "default")  # the fallback
    skipped = [p for p in summary.skipped
               if p.profile == "production" and p.key == "POSTGRES_PASSWORD"]
    assert skipped, summary.skipped
    assert "default" in skipped[0].reason, skipped[0].reason
