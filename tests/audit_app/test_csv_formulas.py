"""R17.3: the audit CSV export writes cells a spreadsheet would run as a formula (=, +, -, @,
tab, carriage return first) as text, with a leading single quote (OWASP CSV injection). An
anonymous visitor can plant one through the User-Agent of a failed sign-in."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit_app.middleware import header_text
from audit_app.spreadsheet import FORMULA_LEADS, safe_cell
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'


def exported_rows(client) -> list[dict]:
    response = client.get(reverse("audit:export"), {"format": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def assert_no_formula_cells(rows):
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_LEADS), (column, cell)


def test_r17_3_failed_sign_in_user_agent_is_exported_as_text(admin_client):
    anonymous = Client(HTTP_USER_AGENT=HYPERLINK)
    response = anonymous.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200  # the form again, with its error

    rows = exported_rows(admin_client)

    failed = [row for row in rows if row["action"] == "LOGIN_FAILED"]
    assert [row["user_agent"] for row in failed] == ["'" + HYPERLINK]
    assert_no_formula_cells(rows)


@pytest.mark.parametrize("lead", FORMULA_LEADS)
def test_r17_3_every_user_text_column_is_neutralised(client, admin_user, lead):
    """username, secret name, user agent and detail, with each lead character."""
    planted = f"{lead}SUM(1+1)*cmd|' /C calc'!A0"
    author = User.objects.create_superuser(f"{lead}ops" if lead in "+-@" else "ops",
                                           "", "ops-password")
    client.force_login(author)
    # Names are stripped (and control characters refused), so tab and CR lead only the UA.
    name = planted if lead.isprintable() else "=" + planted.lstrip()
    create_secret(author, name=name, key="API_KEY", value="v")
    Client(HTTP_USER_AGENT=planted).post(
        reverse("login"), {"username": "nobody", "password": "wrong"})

    rows = exported_rows(client)

    assert_no_formula_cells(rows)
    created = next(row for row in rows if row["action"] == "CREATE")
    assert created["secret_name"] == "'" + name
    if lead in "+-@":
        assert created["username"] == f"'{lead}ops"
    failed = next(row for row in rows if row["action"] == "LOGIN_FAILED")
    # A tab or CR in a header is stored escaped (R17.8); what starts with a lead is quoted.
    assert failed["user_agent"] == safe_cell(header_text(planted))
    assert failed["user_agent"].endswith(planted.lstrip("\t\r"))


def test_r17_3_safe_cell_rules():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("\r=1") == "'\r=1"
    assert safe_cell("plain = text") == "plain = text"
    assert safe_cell("'already quoted") == "'already quoted"
    assert safe_cell(42) == 42
    assert safe_cell(True) is True
    assert safe_cell("") == ""
