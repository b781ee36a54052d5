"""Hostile input (issue 7): every one answered with a 4xx and a message, never a 500, and
nothing stored."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError

from audit_app.models import AuditLog
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file

pytestmark = pytest.mark.django_db

URL = "/api/v1/secrets/"


def nothing_stored():
    return not Secret.objects.exists()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{c}: &{c} [" + ",".join([f"*{chr(ord(c) - 1)}"] * 9) + "]\n"
            for c in "bcdefgh"), "aliases expand"),
        ("[" * 10_000 + "]" * 10_000, "deeper than"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_hostile_yaml_is_400_and_nothing_stored(admin_api, body, why):
    response = admin_api.generic("POST", f"{URL}import/", body.encode(),
                                 content_type="application/yaml")
    assert response.status_code == 400
    assert why in response.json()["detail"]
    assert nothing_stored()


def test_invalid_utf8_upload_is_400(admin_api):
    upload = SimpleUploadedFile("x.yaml", b"default:\n  A_KEY: \xff\xfe\xfa\n")
    response = admin_api.post(f"{URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400 and "not UTF-8" in response.json()["detail"]
    assert nothing_stored()


def test_a_50_mb_upload_is_400_without_reading_it_all(admin_api):
    upload = SimpleUploadedFile("big.yaml", b"A_KEY: " + b"x" * (50 * 1024 * 1024))
    response = admin_api.post(f"{URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "larger than 5 MB" in response.json()["detail"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "n", "key": "K", "value": "x" * 1_000_001}, "value"),
        ({"name": "n" * 10_000, "key": "K", "value": "v"}, "name"),
        ({"name": "line\nbreak", "key": "K", "value": "v"}, "name"),
        ({"name": "nul\x00", "key": "K", "value": "v"}, "name"),
        ({"name": "n", "key": "K", "value": "v", "category": "Martian"}, "category"),
        ({"name": "n", "key": "K", "value": "v", "profile": "qa"}, "profile"),
        ({"name": ["n"], "key": "K", "value": "v"}, "name"),
        ({"name": "n", "key": {"a": 1}, "value": "v"}, "key"),
        ({"name": "n", "key": "K", "value": ["v"]}, "value"),
        ({"name": "n", "key": "K", "value": "v", "ssh": "not-an-object"}, "ssh"),
    ],
)
def test_bad_fields_are_400_naming_the_field(admin_api, body, field):
    response = admin_api.post(URL, body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert nothing_stored()


@pytest.mark.parametrize("body", ['{"name": ', "[1, 2]", "null", '"text"', "\x00\x01"])
def test_malformed_json_is_400(admin_api, body):
    response = admin_api.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-0000-0000", "%27%20OR%201=1", "ä"])
def test_malformed_ids_are_404_everywhere(admin_api, bad):
    for path in (f"{URL}{bad}/", f"{URL}{bad}/decrypt/", f"{URL}{bad}/versions/"):
        response = admin_api.generic("GET" if "decrypt" not in path else "POST", path)
        assert response.status_code == 404, path


def test_console_posts_without_csrf_are_refused(admin_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/secrets/new/", {"name": "n", "key": "K", "value": "v",
                                             "profile": "default"})
    assert response.status_code == 403
    assert nothing_stored()


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_not_believed(admin_api, settings):
    settings.SECRETS_TRUSTED_PROXIES = ["10.0.0.1"]
    admin_api.post(URL, {"name": "n", "key": "K", "value": "v"}, format="json",
                   REMOTE_ADDR="198.51.100.23", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert AuditLog.objects.get(action="CREATE").ip_address == "198.51.100.23"


def test_a_database_failure_at_row_5000_of_10000_leaves_nothing(admin_user):
    """The database fails on the INSERT that holds the 5,000th secret."""
    from django.db import connection

    columns = len(Secret._meta.concrete_fields)
    inserted = [0]

    def fail_at_row_5000(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "secrets_app_secret"'):
            # PostgreSQL gets one array per column (UNNEST); SQLite one value per cell.
            arrays = params and isinstance(params[0], list | tuple)
            inserted[0] += len(params[0]) if arrays else len(params) // columns
            if inserted[0] >= 5000:
                raise DatabaseError("disk full at row 5000")
        return execute(sql, params, many, context)

    data = "default:\n" + "".join(f"  KEY_{n}: v{n}\n" for n in range(10_000))
    audit_before = AuditLog.objects.count()
    with connection.execute_wrapper(fail_at_row_5000), pytest.raises(DatabaseError):
        import_file(data.encode(), user=admin_user)
    assert 5000 <= inserted[0] < 10_000
    assert nothing_stored()
    assert AuditLog.objects.count() == audit_before
