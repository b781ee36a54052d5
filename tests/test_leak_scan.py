"""Leak scan (issue 7): canary values go in through every way in, then every read and error
path is searched for them — response bodies and headers, log records at DEBUG, and every raw
database column. Only decrypt, reveal and export answers may contain a value."""

import json
import logging
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from secrets_app.crypto import configured_keys
from secrets_app.models import Secret
from tests.helpers import every_text_cell

pytestmark = pytest.mark.django_db(transaction=True)


def canary(label: str) -> str:
    return f"LEAK-{label}-{uuid.uuid4().hex}"


@pytest.fixture
def canaries(admin_user, member, settings, use_keys, caplog):
    """Secrets stored through the API, the console, an import, an SSH tunnel, an update and
    a restore, then a key rotation; SQL logged at DEBUG meanwhile."""
    settings.DEBUG = True  # Django logs every SQL statement and its parameters at DEBUG
    caplog.set_level(logging.DEBUG)
    values = {name: canary(name) for name in (
        "api", "api-ssh-password", "api-ssh-key", "console", "console-ssh", "import",
        "updated-old", "updated-new",
    )}
    api = Client()
    api.force_login(admin_user)
    api.post("/api/v1/secrets/", json.dumps({
        "name": "via-api", "key": "API_TOKEN", "value": values["api"],
        "ssh": None}), content_type="application/json")
    api.post("/api/v1/secrets/", json.dumps({
        "name": "via-api-ssh", "key": "SSH_PRIVATE_KEY", "value": "x", "ssh": {
            "host": "h", "username": "u", "password": values["api-ssh-password"],
            "private_key": values["api-ssh-key"]}}), content_type="application/json")
    api.post("/secrets/new/", {
        "name": "via-console", "key": "SSH_HOST", "value": values["console"],
        "category": "SSH", "profile": "default", "ssh_host": "h", "ssh_username": "u",
        "ssh_password": values["console-ssh"]}, HTTP_HX_REQUEST="true")
    upload = SimpleUploadedFile("io_config.yaml",
                                f"default:\n  IMPORTED_KEY: {values['import']}\n".encode())
    api.post("/secrets/import/", {"file": upload}, HTTP_HX_REQUEST="true")
    created = api.post("/api/v1/secrets/", json.dumps({
        "name": "rotated", "key": "K", "value": values["updated-old"]}),
        content_type="application/json").json()
    api.patch(f"/api/v1/secrets/{created['id']}/", json.dumps(
        {"value": values["updated-new"]}), content_type="application/json")
    api.post(f"/api/v1/secrets/{created['id']}/versions/1/restore/")
    use_keys("leak-scan-rotation-key-0123456789-0123", *configured_keys()[0])
    call_command("rotate_encryption_key", verbosity=0)
    assert Secret.objects.count() == 5
    settings.DEBUG = False
    return values


def scan(text: str, values: dict, where: str) -> list[str]:
    return [f"{name} in {where}" for name, value in values.items() if value in text]


def test_no_value_leaks_on_any_read_or_error_path(canaries, admin_user, member, caplog,
                                                  settings):
    leaks = []
    secret = Secret.objects.get(name="rotated")
    admin = Client(raise_request_exception=False)
    admin.force_login(admin_user)
    reader = Client(raise_request_exception=False)
    reader.force_login(member)
    # path -> the status the admin and the member get: a page that moved, broke or turned
    # into a redirect would scan clean, so each answer is checked to be the page it should be.
    pk, unknown = secret.pk, uuid.uuid4()
    paths = {
        "/secrets/": (200, 200), f"/secrets/?search={secret.name}": (200, 200),
        f"/secrets/{pk}/masked/": (200, 200), f"/secrets/{pk}/edit/": (200, 403),
        f"/secrets/{pk}/versions/": (200, 403), f"/secrets/{pk}/delete/": (200, 403),
        "/catalog/": (200, 200), "/settings/": (200, 200), "/audit/": (200, 403),
        "/audit/export/?format=csv": (200, 403), "/audit/export/?format=jsonl": (200, 403),
        "/api/v1/secrets/": (200, 200), f"/api/v1/secrets/{pk}/": (200, 200),
        f"/api/v1/secrets/{pk}/versions/": (200, 403), "/api/v1/secrets/profiles/": (200, 200),
        "/api/v1/audit/": (200, 403), "/api/v1/tokens/": (200, 200),
        "/api/schema/": (200, 200), "/api/docs/": (200, 200),
        # The member is not staff: the Django admin sends them to its own login.
        "/admin/secrets_app/secret/": (200, 302),
        f"/admin/secrets_app/secret/{pk}/change/": (200, 302),
        "/admin/audit_app/auditlog/": (200, 302),
        "/no/such/page/": (404, 404), "/api/v1/no/such/route/": (404, 404),
        f"/api/v1/secrets/{unknown}/": (404, 404),
    }
    for client, who, column in ((admin, "admin", 0), (reader, "member", 1)):
        for path, statuses in paths.items():
            response = client.get(path)
            assert response.status_code == statuses[column], f"{who} GET {path}"
            body = (b"".join(response.streaming_content) if response.streaming
                    else response.content).decode(errors="replace")
            headers = json.dumps(dict(response.headers))
            leaks += scan(body + headers, canaries, f"{who} GET {path} ({response.status_code})")
        response = client.post(f"/api/v1/secrets/{secret.pk}/decrypt/")
        assert response.status_code == (200 if who == "admin" else 403), f"{who} decrypt"
        if who == "member":
            leaks += scan(response.content.decode(), canaries, "a refused decrypt")

    # A 500 with DEBUG off, in the console and in the API.
    from secrets_app.console import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    settings.DEBUG = False
    real_locate_all = views.locate_all
    views.locate_all = explode
    try:
        response = admin.get("/catalog/")
        assert response.status_code == 500
        leaks += scan(response.content.decode(), canaries, "console 500 page")
    finally:
        views.locate_all = real_locate_all

    leaks += scan(caplog.text, canaries, "the log (DEBUG, SQL included)")
    leaks += scan("\n".join(every_text_cell()), canaries, "the database")
    assert leaks == []


def test_decrypt_and_export_do_answer_with_the_value(canaries, admin_user, capsys):
    """The scan above would pass on a product that lost the values: check they are there."""
    admin = Client()
    admin.force_login(admin_user)
    secret = Secret.objects.get(name="rotated")
    response = admin.post(f"/api/v1/secrets/{secret.pk}/decrypt/")
    assert response.status_code == 200
    answer = response.json()
    assert answer["value"] == canaries["updated-old"]  # restored version 1
    call_command("export_secrets", "--profile", "default")
    exported = capsys.readouterr().out
    assert canaries["import"] in exported  # names that are not keys are left out
