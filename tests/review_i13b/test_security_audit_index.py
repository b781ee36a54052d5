"""B6 (low): verify_chain checks a row's secrets-read index before its hash, and reads
detail.secret_ids as it finds it: a row whose stored detail was altered so that secret_ids is
not a list (null, a number) makes the verifier crash (TypeError) instead of reporting the
altered entry; a string is walked character by character. FAILS while open."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from audit_app.log import verify_chain
from audit_app.models import AuditLog
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


def credentials_row(admin_user):
    create_secret(admin_user, name="a", key="APP_A", value="1")
    api = APIClient()
    api.force_authenticate(admin_user)
    assert api.get("/api/v1/credentials/", {"keys": "APP_A"}).status_code == 200
    row = AuditLog.objects.filter(detail__has_key="secret_ids").latest("sequence")
    return row


def tamper(row, detail) -> None:
    table = AuditLog._meta.db_table
    with connection.cursor() as cursor:  # what someone with the database's password can do
        cast = "::jsonb" if connection.vendor == "postgresql" else ""
        cursor.execute(f"UPDATE {table} SET detail = %s{cast} WHERE id = %s",
                       [json.dumps(detail), row.pk])


@pytest.mark.parametrize("hostile", [None, 5, True])
def test_B6_verify_chain_reports_an_altered_row_whose_secret_ids_is_not_a_list(
        admin_user, hostile):
    row = credentials_row(admin_user)
    tamper(row, {**row.detail, "secret_ids": hostile})
    try:
        report = verify_chain()
    except Exception as error:
        pytest.fail(f"verify_chain crashed on an altered row: {type(error).__name__}: {error}")
    assert report.ok is False
    assert report.broken_sequence == row.sequence
    assert "altered" in report.message, report.message


def test_B6_verify_audit_log_command_says_altered_not_a_traceback(admin_user, capsys):
    row = credentials_row(admin_user)
    tamper(row, {**row.detail, "secret_ids": None})
    with pytest.raises(BaseException) as raised:  # CommandError / SystemExit: exit status 1
        call_command("verify_audit_log")
    assert not isinstance(raised.value, TypeError), "the verifier crashed with a traceback"


def test_B6_an_altered_secret_ids_list_is_reported_as_an_altered_entry(admin_user):
    """The row's own (hashed) content was changed, the index untouched: the report blames
    the index ("index rows were removed or added"), sending the investigator to the wrong
    table; the hash check, which would say "altered", never runs for that row."""
    row = credentials_row(admin_user)
    tamper(row, {**row.detail, "secret_ids": ["00000000-0000-0000-0000-000000000001"]})
    report = verify_chain()
    assert report.ok is False and report.broken_sequence == row.sequence
    assert "altered" in report.message, report.message
