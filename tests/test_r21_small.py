"""R21, the smaller things a user noticed (issue 14): masked value fields with a show toggle,
audit times that say their time zone, the Catalog's inherited answers, and the reveal window
taken from SECRETS_REVEAL_SECONDS. The toggle itself is driven in
tests/browser/test_small_browser.py."""

import json
import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from audit_app.models import AuditLog
from secrets_app.constants import ValueFormat
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from secrets_app.sources.chain import locate_all
from secrets_app.sources.config_file import ConfigFileLoader
from secrets_app.sources.database import DatabaseLoader
from secrets_app.sources.environment import EnvironmentLoader

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def tag(html: str, pattern: str) -> str:
    """The first HTML tag matching pattern, whole."""
    match = re.search(r"<(?:input|textarea|button)[^>]*" + pattern + r"[^>]*>", html)
    assert match, pattern
    return match.group(0)


class TestMaskedValueFields:
    def test_the_new_secret_value_is_a_password_input_with_a_show_toggle(self, admin_client):
        html = admin_client.get("/secrets/new/", **HTMX).content.decode()
        value = tag(html, r'name="value"')
        assert value.startswith("<input") and 'type="password"' in value
        assert 'autocomplete="off"' in value and 'spellcheck="false"' in value
        toggle = tag(html, r'data-testid="toggle-value"')
        assert 'type="button"' in toggle and 'aria-pressed="false"' in toggle
        assert 'aria-controls="id_value"' in toggle
        assert ">Show value</button>" in html
        assert 'name="multiline"' in html

    def test_the_ssh_password_and_private_key_are_masked_too(self, admin_client):
        html = admin_client.get("/secrets/new/", **HTMX).content.decode()
        assert 'type="password"' in tag(html, r'name="ssh_password"')
        key = tag(html, r'name="ssh_private_key"')
        assert key.startswith("<textarea") and " hidden" in key
        assert ">Show password</button>" in html and ">Show private key</button>" in html

    def test_a_multi_line_value_is_a_textarea_hidden_behind_dots(self, admin_client):
        html = admin_client.post("/secrets/new/", {
            "name": "", "key": "SSH_PRIVATE_KEY", "value": "line one\nline two",
            "profile": "default", "multiline": "on",
        }, **HTMX).content.decode()
        value = tag(html, r'name="value"')
        assert value.startswith("<textarea") and " hidden" in value
        assert 'autocomplete="off"' in value and 'spellcheck="false"' in value
        # The mistake (no name) is shown; the value typed comes back, line breaks and all.
        assert "line one\nline two</textarea>" in html
        mask = html[html.index("data-secret-mask"):].split("</div>")[0]
        assert "•••" in mask and "hidden" not in mask.split(">")[0]

    def test_line_breaks_keep_the_textarea_even_with_the_switch_off(self, admin_client):
        html = admin_client.post("/secrets/new/", {
            "name": "", "key": "CUSTOM_JSON", "value": '{\n"a": 1}', "profile": "default",
        }, **HTMX).content.decode()
        assert tag(html, r'name="value"').startswith("<textarea")

    def test_a_multi_line_value_is_stored_with_its_line_breaks(self, admin_client):
        pem = "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"
        response = admin_client.post("/secrets/new/", {
            "name": "deploy key", "key": "SSH_PRIVATE_KEY", "value": pem,
            "profile": "default", "multiline": "on",
        }, **HTMX)
        assert response.status_code == 204  # stored: the dialog closes
        assert Secret.objects.get(name="deploy key").value.reveal() == pem

    def test_editing_a_key_or_json_value_opens_the_multi_line_field(self, admin_client,
                                                                     admin_user):
        pem = create_secret(admin_user, name="pem", key="SSH_PRIVATE_KEY", value="a\nb")
        doc = create_secret(admin_user, name="doc", key="TRINO", value='{"a": 1}')
        Secret.objects.filter(pk=doc.pk).update(value_format=ValueFormat.JSON)
        plain = create_secret(admin_user, name="pw", key="POSTGRES_PASSWORD", value="x")
        for secret, widget in ((pem, "<textarea"), (doc, "<textarea"), (plain, "<input")):
            html = admin_client.get(f"/secrets/{secret.pk}/edit/", **HTMX).content.decode()
            value = tag(html, r'name="value"')
            assert value.startswith(widget), secret.name
            # Never the stored value: an empty field keeps it.
            assert "a\nb" not in html and ">x<" not in html and 'value="x"' not in html


class TestAuditTimeZone:
    def test_times_say_their_zone_and_the_filter_says_which_it_uses(self, admin_client,
                                                                   admin_user, settings):
        create_secret(admin_user, name="warehouse", key="POSTGRES_HOST", value="v")
        entry = AuditLog.objects.order_by("-sequence").first()
        html = admin_client.get("/audit/").content.decode()
        shown = entry.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        assert settings.TIME_ZONE == "UTC"
        assert f"{shown} UTC</time>" in html
        assert "Times in UTC, the server's time zone." in html
        assert html.count('aria-describedby="audit-time-zone"') == 2

    def test_another_server_zone_is_named_and_used_by_the_filter(self, admin_client,
                                                                  admin_user, settings):
        settings.TIME_ZONE = "Europe/Paris"
        create_secret(admin_user, name="warehouse", key="POSTGRES_HOST", value="v")
        entry = AuditLog.objects.order_by("-sequence").first()
        local = entry.timestamp.astimezone(ZoneInfo("Europe/Paris"))
        shown = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}</time>"
        html = admin_client.get("/audit/").content.decode()
        assert local.tzname() in ("CET", "CEST") and shown in html
        assert "Times in Europe/Paris, the server's time zone." in html
        # The filter reads Paris time too: a minute before the entry finds it, a minute
        # after does not (read as UTC, both would be an hour or two off).
        for delta, found in ((-1, True), (1, False)):
            since = f"{local + timedelta(minutes=delta):%Y-%m-%dT%H:%M}"
            rows = admin_client.get(f"/audit/?since={since}", **HTMX).content.decode()
            assert (shown in rows) is found, since

    def test_exports_write_iso_times_with_their_offset(self, admin_client, admin_user):
        create_secret(admin_user, name="warehouse", key="POSTGRES_HOST", value="v")
        csv_text = b"".join(
            admin_client.get("/audit/export/?format=csv").streaming_content).decode()
        stamp = csv_text.splitlines()[1].split(",")[1]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", stamp)
        lines = b"".join(
            admin_client.get("/audit/export/?format=jsonl").streaming_content).decode()
        assert json.loads(lines.splitlines()[0])["timestamp"].endswith("+00:00")


def catalog_row(html: str, key: str) -> list[str]:
    row = html[html.index(f"<code>{key}</code>"):].split("</tr>")[0]
    return [cell.split(">")[-1] for cell in row.split("</span>")[:-1]]


class TestCatalogInheritance:
    def test_a_profile_without_its_own_entry_says_default_answered(self, member_client,
                                                                   admin_user):
        # Columns: default, development, staging, production.
        create_secret(admin_user, name="pg", key="POSTGRES_HOST", value="d")
        create_secret(admin_user, name="pg", key="POSTGRES_HOST", value="s", profile="staging")
        html = member_client.get("/catalog/").content.decode()
        assert catalog_row(html, "POSTGRES_HOST") == [
            "database", "database · default", "database", "database · default"]
        assert "No entry of its own in development: default&#x27;s answers." in html

    def test_the_environment_has_no_profiles_so_it_names_none(self, member_client,
                                                              monkeypatch):
        monkeypatch.setenv("AWS_REGION", "ENV-CANARY")
        html = member_client.get("/catalog/").content.decode()
        assert catalog_row(html, "AWS_REGION") == ["environment"] * 4

    def test_a_config_file_default_section_is_inherited_too(self, member_client, settings,
                                                            tmp_path):
        path = tmp_path / "io_config.yaml"
        path.write_text("default:\n  MYSQL_HOST: a\nproduction:\n  MYSQL_HOST: b\n")
        settings.SECRETS_CONFIG_FILE = str(path)
        html = member_client.get("/catalog/").content.decode()
        assert catalog_row(html, "MYSQL_HOST") == [
            "config file", "config file · default", "config file · default", "config file"]

    def test_locate_all_says_which_profile_answered_without_values(self, admin_user):
        create_secret(admin_user, name="pg", key="POSTGRES_HOST", value="d")
        loaders = (DatabaseLoader(), EnvironmentLoader({"POSTGRES_USER": "u"}),
                   ConfigFileLoader())
        found = locate_all(["POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_DB"],
                           ["default", "staging"], loaders)
        assert found[("POSTGRES_HOST", "staging")].answered_in == "default"
        assert found[("POSTGRES_HOST", "default")].answered_in == "default"
        assert found[("POSTGRES_USER", "staging")].source == "environment"
        assert not found[("POSTGRES_DB", "staging")].found
        assert all(where.value is None for where in found.values())

    def test_aws_is_asked_no_more_than_contains_asked(self, admin_user):
        calls = []

        class CountingAWS(DatabaseLoader.__mro__[1]):  # BaseCredentialLoader
            source = "aws"

            def get(self, key, profile="default"):
                calls.append((key, profile))
                return None

        locate_all(["POSTGRES_HOST"], ["default", "staging"], (DatabaseLoader(), CountingAWS()))
        assert calls == [("POSTGRES_HOST", "default"), ("POSTGRES_HOST", "staging")]


class TestRevealSeconds:
    def test_the_tooltip_and_the_countdown_follow_the_setting(self, admin_client, admin_user,
                                                              settings):
        settings.SECRETS_REVEAL_SECONDS = 7
        secret = create_secret(admin_user, name="warehouse", key="POSTGRES_HOST", value="v")
        table = admin_client.get("/secrets/").content.decode()
        assert 'title="Decrypt (shown for 7 s, audited)"' in table
        assert "30 s" not in table and "30s" not in table
        revealed = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
        html = revealed.content.decode()
        assert 'data-countdown="7"' in html and ">7s</span>" in html
        assert 'hx-trigger="load delay:7s"' in html
        assert "30" not in html.replace(str(secret.pk), "")
