"""What held in the outside review of issue 15 (R22)."""

import json

import pytest
import yaml
from django.contrib.auth.models import User

from secrets_app.access.grants import add_grant
from secrets_app.models import Secret
from tests.review_i15.common import OPERATOR, SECRETS, run

pytestmark = pytest.mark.django_db


def test_a_plain_api_value_with_a_template_exports_literal_and_round_trips(
        admin_api, monkeypatch, tmp_path):
    """The control for the json finding: a text value holding {{ }} keeps its !literal."""
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    created = admin_api.post(SECRETS, {"name": "K", "key": "K", "profile": "default",
                                       "value": json.dumps(
                                           {"k": "{{ env_var('OPERATOR_TOKEN') }}"})},
                             format="json")
    assert created.status_code == 201, created.content
    path = tmp_path / "e.yaml"
    run("export_secrets", "--output", str(path))
    assert "!literal" in path.read_text()
    out, _, error = run("import_secrets", str(path))
    assert "1 unchanged" in out and not error


def test_as_user_without_default_read_never_resolves_env_var(admin_user, monkeypatch, tmp_path):
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    dev = User.objects.create_user("deved", password="x-long-password-1")
    add_grant(admin_user, dev, "development", "editor")
    path = tmp_path / "f.yaml"
    path.write_text("development:\n  A_TOKEN: \"{{ env_var('OPERATOR_TOKEN') }}\"\n"
                    "  trino: {p: \"{{ env_var('OPERATOR_TOKEN') }}\"}\n")
    for choice in ("fail", "skip", "keep"):
        out, _, error = run("import_secrets", str(path), "--as", "deved", "--templates", choice)
        assert OPERATOR not in out + error
    for secret in Secret.objects.all():
        assert OPERATOR not in secret.value.reveal()


@pytest.mark.parametrize("templates", ["fail", "skip", "keep"])
def test_server_configuration_is_never_read_by_the_operator_either(monkeypatch, templates):
    monkeypatch.setenv("SECRETS_ENCRYPTION_KEY_X", "server-key-material")
    text = ("A_TOKEN: \"{{ env_var('SECRETS_ENCRYPTION_KEY_X') }}\"\n"
            "trino: {p: \"{{ env_var('secrets_encryption_key_x') }}\"}\n")
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    _out, _, _error = run("import_secrets", handle.name, "--templates", templates)
    for secret in Secret.objects.all():
        assert "server-key-material" not in secret.value.reveal()


def test_editor_flat_file_lands_only_where_they_edit(admin_user, member):
    from rest_framework.test import APIClient
    add_grant(admin_user, member, "development", "editor")
    client = APIClient()
    client.force_authenticate(member)
    for query, text in [("", b"API_TOKEN: x\ntrino: {host: h}\n"),
                        ("", b"production: {host: h}\nAPI_TOKEN: y\n"),
                        ("", b"qa: {API_TOKEN: z}\n"),
                        ("", b"<<: {production: {API_TOKEN: w}}\n"),
                        ("?profile=production", b"API_TOKEN: v\n"),
                        ("?profile=development", b"API_TOKEN: ok\n")]:
        client.post(f"{SECRETS}import/{query}", data=text, content_type="application/yaml")
    assert set(Secret.objects.values_list("profile", flat=True)) <= {"development"}


def test_exported_nested_keys_cannot_inject_entries(admin_user, tmp_path):
    from secrets_app.services.bulk import import_file
    nasty = {"a\nPROD_KEY: x": 1, "<<": {"Y": 1}, "\u2028Z: 1": 2, "'": '"', "{{x}}": "y"}
    text = yaml.safe_dump({"trino": nasty})
    summary = import_file(text.encode(), user=admin_user, templates="keep")
    assert summary.created == 1, summary.as_dict()
    path = tmp_path / "e.yaml"
    run("export_secrets", "--output", str(path))
    assert yaml.safe_load(path.read_text()) == {"default": {"trino": nasty}}
    out, _, _error = run("import_secrets", str(path), "--templates", "keep")
    assert "1 unchanged" in out, out
