"""Outside security review of issue 15 (R22). Each test states the expected behaviour (each
failed before its fix)."""

import json

import pytest
import yaml

from secrets_app.access.grants import add_grant
from secrets_app.models import Secret
from tests.review_i15.common import OPERATOR, SECRETS, run

pytestmark = pytest.mark.django_db


def export_then_import(tmp_path, *import_options):
    path = tmp_path / "backup.yaml"
    _, _, error = run("export_secrets", "--output", str(path))
    assert not error
    out, _, error = run("import_secrets", str(path), *import_options)
    return path.read_text(), out, error


@pytest.fixture
def editor_api(admin_user, member):
    from rest_framework.test import APIClient

    add_grant(admin_user, member, "development", "editor")
    client = APIClient()
    client.force_authenticate(member)
    return client


def upload(client, text, templates="keep"):
    response = client.post(f"{SECRETS}import/?templates={templates}", data=text.encode(),
                           content_type="application/yaml")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("options", [("--templates", "keep"), ()])
def test_kept_env_var_from_an_upload_is_never_resolved_by_a_later_cli_round_trip(
        editor_api, monkeypatch, tmp_path, options):
    """An editor's upload keeps {{ env_var('OPERATOR_TOKEN') }} as text (uploads never read the
    server environment). The operator's backup loop (export, import) must not turn it into the
    operator's environment value, readable by that editor."""
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    body = upload(editor_api, "development:\n  LEAK_ME: \"{{ env_var('OPERATOR_TOKEN') }}\"\n")
    assert body["created"] == 1
    text, out, _error = export_then_import(tmp_path, *options)
    stored = Secret.objects.get(profile="development", name="LEAK_ME").value.reveal()
    assert stored == "{{ env_var('OPERATOR_TOKEN') }}", (text, out)


@pytest.mark.parametrize("options", [("--templates", "keep"), ()])
def test_kept_env_var_inside_a_connector_block_is_never_resolved_by_a_round_trip(
        editor_api, monkeypatch, tmp_path, options):
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    body = upload(editor_api, "development:\n  trino:\n    host: h\n"
                              "    password: \"{{ env_var('OPERATOR_TOKEN') }}\"\n")
    assert body["created"] == 1, body
    text, out, _error = export_then_import(tmp_path, *options)
    stored = Secret.objects.get(profile="development", name="trino").value.reveal()
    assert OPERATOR not in stored, (text, out)


def test_an_edited_json_value_exports_its_templates_marked_literal(
        admin_user, editor_api, monkeypatch, tmp_path):
    """value_format stays `json` after an edit through the API; a plain API value holding
    '{{' exports with !literal, a json one holding the same text must not lose that mark."""
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    upload(editor_api, "development:\n  GOOGLE_SERVICE_ACC_KEY:\n    type: service_account\n",
           templates="fail")
    secret = Secret.objects.get(profile="development", name="GOOGLE_SERVICE_ACC_KEY")
    assert secret.value_format == "json"
    patched = editor_api.patch(f"{SECRETS}{secret.pk}/",
                               {"value": json.dumps({"k": "{{ env_var('OPERATOR_TOKEN') }}"})},
                               format="json")
    assert patched.status_code == 200, patched.content
    text, out, _error = export_then_import(tmp_path)
    stored = Secret.objects.get(pk=secret.pk).value.reveal()
    assert OPERATOR not in stored, (text, out)


def test_the_editor_then_reads_the_operator_value(editor_api, monkeypatch, tmp_path):
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    upload(editor_api, "development:\n  LEAK_ME: \"{{ env_var('OPERATOR_TOKEN') }}\"\n")
    export_then_import(tmp_path, "--templates", "keep")
    secret = Secret.objects.get(profile="development", name="LEAK_ME")
    response = editor_api.post(f"{SECRETS}{secret.pk}/decrypt/")
    assert response.status_code == 200, response.content  # an editor reads its profile
    assert OPERATOR not in response.content.decode(), response.content


NASTY = {"a\nb": "c", "<<": {"X": "1"}, "": "e", "~": None, "x: y": "z", "- q": "w",
         "#c": "d", "k\u2028": "l", "?": "m", "!!python/object:os.system": "n"}


def test_an_edited_json_mapping_reads_back_as_itself(admin_user, editor_api, tmp_path):
    upload(editor_api, "development:\n  GOOGLE_SERVICE_ACC_KEY:\n    type: service_account\n",
           templates="fail")
    secret = Secret.objects.get(profile="development", name="GOOGLE_SERVICE_ACC_KEY")
    editor_api.patch(f"{SECRETS}{secret.pk}/", {"value": json.dumps(NASTY)}, format="json")
    path = tmp_path / "e.yaml"
    run("export_secrets", "--output", str(path))
    data = yaml.safe_load(path.read_text())
    assert data["development"]["GOOGLE_SERVICE_ACC_KEY"] == NASTY
    assert list(data) == ["development"]


HOSTILE = [
    "trino: !!python/object/apply:os.system ['true']\n",
    "trino:\n  x: !!python/name:os.system\n",
    "trino: !literal {a: 1}\n",
    "trino:\n  ? [a, b]\n  : c\n",
    "trino:\n  ? {a: 1}\n  : c\n",
    "trino:\n  <<: 5\n",
    "trino:\n  <<: [1, 2]\n",
    "trino: &a\n  x: *a\n",
    "? [a]\n: {b: c}\n",
    "trino:\n  s: !!set {a, b}\n",
    "trino:\n  b: !!binary aGVsbG8=\n",
    "trino:\n  t: 2001-12-14t21:59:43.10-05:00\n",
    "trino:\n  f: .nan\n",
    "trino:\n  f: .inf\n",
    "a: &x {b: 1}\ntrino:\n  <<: *x\n  <<: *x\n",
    "trino: {" + ", ".join(f"k{i}: v" for i in range(20000)) + "}\n",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_yaml_never_breaks_the_api(admin_api, text):
    response = admin_api.post(f"{SECRETS}import/?templates=keep", data=text.encode(),
                              content_type="application/yaml")
    assert response.status_code in (200, 400), response.content[:300]


@pytest.mark.parametrize("nested, expected", [
    ("{1: a, '1': b}", {"1": "a", "1b": "b"}),
    ("{true: a, 'True': b}", None),
    ("{null: a, 'None': b}", None),
])
def test_non_string_nested_keys_do_not_silently_overwrite(admin_user, nested, expected):
    from secrets_app.services.bulk import import_file
    summary = import_file(f"trino: {nested}\n".encode(), user=admin_user, templates="fail")
    if summary.created:
        stored = json.loads(Secret.objects.get(name="trino").value.reveal())
        assert len(stored) == 2, (stored, "one of two distinct YAML keys was dropped silently")


@pytest.mark.parametrize("tagged", ["!!set {a, b}", "!!binary aGVsbG8=",
                                    "2001-12-14t21:59:43.10-05:00", ".nan"])
def test_nested_values_round_trip_or_fail(admin_user, tmp_path, tagged):
    """Export -> safe_load equals the imported data (done-when), else the entry should fail."""
    from secrets_app.services.bulk import import_file
    text = f"trino:\n  v: {tagged}\n"
    summary = import_file(text.encode(), user=admin_user, templates="fail")
    if not summary.created:
        return
    path = tmp_path / "e.yaml"
    run("export_secrets", "--output", str(path))
    exported = yaml.safe_load(path.read_text())["default"]["trino"]
    original = yaml.safe_load(text)["trino"]
    assert exported == original or (tagged == ".nan"), (exported, original)


def test_profile_filter_reports_top_level_entries_it_leaves_out(editor_api):
    """?profile=development on a sectioned file: a top-level KEY outside any section is
    neither imported nor reported."""
    response = editor_api.post(f"{SECRETS}import/?profile=development",
                               data=b"production: ~\nAPI_TOKEN: v\n",
                               content_type="application/yaml")
    body = response.json()
    assert body["failed"] + body["skipped"] + body["created"] >= 1, body


def test_an_editor_of_a_removed_profile_cannot_import_into_it(settings, admin_user, member):
    from rest_framework.test import APIClient
    settings.SECRETS_PROFILES = "default,dev,prod"
    add_grant(admin_user, member, "dev", "editor")
    settings.SECRETS_PROFILES = "default,prod"
    client = APIClient()
    client.force_authenticate(member)
    for query, text in [("", b"dev:\n  API_TOKEN: x\n"), ("&profile=dev", b"API_TOKEN: x\n"),
                        ("", b"dev:\n  trino: {host: h}\n")]:
        response = client.post(f"{SECRETS}import/?templates=keep{query}", data=text,
                               content_type="application/yaml")
        assert response.status_code in (200, 400)
    assert not Secret.objects.filter(profile="dev").exists()


def test_console_import_report_escapes_hostile_keys(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile
    text = (b'"<img src=x onerror=alert(1)>": {a: 1}\n'
            b'"<b>X</b>": "{{ mage_secret_var(\'<script>y</script>\') }}"\n')
    upload_file = SimpleUploadedFile("io_config.yaml", text)
    response = admin_client.post("/secrets/import/", {"file": upload_file, "templates": "skip"},
                                 HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<img src=x" not in html and "<script>y" not in html and "<b>X</b>" not in html


def test_failed_import_leaves_nothing_half_written(admin_user, monkeypatch):
    """An error while writing audit rows rolls the secrets back too."""
    from audit_app import log
    from secrets_app.services import bulk

    def boom(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(log, "record_many", boom)
    with pytest.raises(RuntimeError):
        bulk.import_file(b"trino: {host: h}\nGOOGLE_SERVICE_ACC_KEY: {a: 1}\n",
                         user=admin_user, templates="keep")
    assert not Secret.objects.exists()


def test_error_messages_never_quote_a_value(admin_api, settings):
    secret_value = "S3CRET-VALUE-XYZ"
    settings.SECRETS_IMPORT_MAX_BYTES = 5_000_000
    texts = [
        f"trino:\n  p: !!python/name:{secret_value}\n",
        f"trino:\n  <<: {secret_value}\n",
        f"trino: {{p: {secret_value}, p: [\n",
        f"trino:\n  p: \"{{{{ env_var('{secret_value}') }}}}\"\n",
        f"trino:\n  p: \"{{{{ mage_secret_var('{secret_value}') }}}}\"\n",
        f"API_TOKEN: \"{secret_value}{{{{ bad\"\n",
        f"API_TOKEN: !unknown {secret_value}\n",
    ]
    leaks = []
    for text in texts:
        response = admin_api.post(f"{SECRETS}import/", data=text.encode(),
                                  content_type="application/yaml")
        if secret_value in response.content.decode():
            leaks.append((text, response.content.decode()))
    assert not leaks, leaks


def test_an_edited_kept_template_keeps_no_literal_mark(editor_api, monkeypatch, tmp_path):
    """value_format `template` survives an API edit: the new value (any text with {{ }}) is
    exported without !literal and resolved by the next command-line import."""
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    upload(editor_api, "development:\n  DB_PASSWORD: \"{{ mage_secret_var('pw') }}\"\n")
    secret = Secret.objects.get(profile="development", name="DB_PASSWORD")
    assert secret.value_format == "template"
    editor_api.patch(f"{SECRETS}{secret.pk}/",
                     {"value": "prefix-{{ env_var('OPERATOR_TOKEN') }}"}, format="json")
    text, out, _error = export_then_import(tmp_path)
    assert OPERATOR not in Secret.objects.get(pk=secret.pk).value.reveal(), (text, out)
