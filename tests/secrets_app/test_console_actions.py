"""The console's actions through the Django test client (R2.3 to R4.6, R6.5, R13 to R15).
The browser tests in tests/browser drive the same pages in Chromium."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit_app.models import AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.constants import CONFIG_KEY_GROUPS
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret, update_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                         value="CONSOLE-CANARY", profile="production")


def events(response) -> dict:
    return json.loads(response["HX-Trigger"])


class TestTable:
    def test_R4_2_columns_and_admin_controls(self, admin_client, secret):
        html = admin_client.get("/secrets/").content.decode()
        for column in ("Name", "Key", "Category", "Profile", "Value", "Created"):
            assert f'<th scope="col">{column}</th>' in html
        for column in ("Key", "Category", "Profile", "Value", "Created"):  # a card's labels
            assert f'data-label="{column}"' in html
        for control in ('data-testid="new-secret"', 'data-testid="import"',
                        'data-testid="edit"', 'data-testid="delete"', 'data-testid="decrypt"'):
            assert control in html
        assert "CONSOLE-CANARY" not in html

    def test_R4_6_non_admins_see_no_admin_controls(self, member_client, secret):
        html = member_client.get("/secrets/").content.decode()
        assert "warehouse" in html and "********" in html
        for control in ("new-secret", '"import"', '"edit"', '"delete"', '"decrypt"',
                        'data-testid="nav-audit"'):
            assert control not in html

    def test_R4_5_filters_live_in_the_url_and_htmx_gets_the_rows_only(
        self, member_client, secret, admin_user
    ):
        create_secret(admin_user, name="other", key="AWS_REGION", value="v")
        full = member_client.get("/secrets/?search=WARE&profile=production").content.decode()
        assert "warehouse" in full and "other" not in full
        assert 'value="WARE"' in full and 'value="production" selected' in full
        partial = member_client.get("/secrets/?category=AWS", **HTMX)
        assert partial["Vary"] and "HX-Request" in partial["Vary"]
        text = partial.content.decode()
        assert text.lstrip().startswith('<div id="secret-rows"')
        assert "other" in text and "warehouse" not in text

    def test_empty_states_say_what_to_do(self, admin_client):
        assert "Import" in admin_client.get("/secrets/").content.decode()
        assert "No secret matches" in admin_client.get("/secrets/?search=zzz").content.decode()


class TestDialogs:
    def test_R3_4_create_through_the_dialog(self, admin_client):
        dialog = admin_client.get("/secrets/new/", **HTMX).content.decode()
        assert 'list="config-keys"' in dialog and "<option value=\"SSH_HOST\">" in dialog
        response = admin_client.post("/secrets/new/", {
            "name": "api", "key": "OPENAI_API_KEY", "value": "sk-1", "profile": "default",
        }, **HTMX)
        assert response.status_code == 204
        assert {"close-dialog", "secrets-changed"} <= set(events(response))
        assert Secret.objects.get(name="api").value.reveal() == "sk-1"
        assert AuditLog.objects.get(action="CREATE").channel == "console"

    def test_R3_4_errors_show_in_the_dialog(self, admin_client, secret):
        response = admin_client.post("/secrets/new/", {
            "name": "warehouse", "key": "K", "value": "v", "profile": "production",
        }, **HTMX)
        assert response.status_code == 200
        assert "Secret with this name already exists" in response.content.decode()
        response = admin_client.post("/secrets/new/", {
            "name": "n", "key": "bad key", "value": "v", "profile": "default",
        }, **HTMX)
        assert "UPPER_SNAKE" in response.content.decode()
        assert Secret.objects.count() == 1

    def test_R3_4_edit_with_an_empty_value_keeps_it(self, admin_client, secret):
        dialog = admin_client.get(f"/secrets/{secret.pk}/edit/", **HTMX).content.decode()
        assert 'value="warehouse"' in dialog and "CONSOLE-CANARY" not in dialog
        response = admin_client.post(f"/secrets/{secret.pk}/edit/", {
            "name": "warehouse", "key": "POSTGRES_PASSWORD", "value": "",
            "profile": "production", "description": "edited",
        }, **HTMX)
        assert response.status_code == 204
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "CONSOLE-CANARY" and stored.description == "edited"

    def test_R7_4_the_ssh_section(self, admin_client):
        response = admin_client.post("/secrets/new/", {
            "name": "bastion", "key": "SSH_PRIVATE_KEY", "value": "", "category": "SSH",
            "profile": "default", "ssh_host": "jump", "ssh_port": "2222",
            "ssh_username": "ops", "ssh_password": "TUNNEL-PW",
        }, **HTMX)
        assert response.status_code == 204, response.content.decode()
        tunnel = Secret.objects.get(name="bastion").ssh_tunnel
        assert (tunnel.host, tunnel.port, tunnel.password.reveal()) == ("jump", 2222, "TUNNEL-PW")
        dialog = admin_client.get(f"/secrets/{tunnel.secret_id}/edit/", **HTMX).content.decode()
        assert 'value="jump"' in dialog and "TUNNEL-PW" not in dialog
        section = dialog.split("data-ssh-section")[1][:80]
        assert "hidden" not in section  # an SSH secret opens with its tunnel section shown

    def test_R3_5_delete_asks_first_naming_secret_and_profile(self, admin_client, secret):
        dialog = admin_client.get(f"/secrets/{secret.pk}/delete/", **HTMX).content.decode()
        assert "warehouse" in dialog and "production" in dialog
        assert Secret.objects.exists()
        response = admin_client.post(f"/secrets/{secret.pk}/delete/", **HTMX)
        assert response.status_code == 204
        assert not Secret.objects.exists()

    @pytest.mark.parametrize("path", ["/secrets/new/", "/secrets/{pk}/edit/",
                                      "/secrets/{pk}/delete/", "/secrets/import/",
                                      "/secrets/{pk}/versions/1/restore/"])
    def test_R3_6_non_admins_are_refused_by_the_server(self, member_client, secret, path):
        response = member_client.post(path.format(pk=secret.pk), {
            "name": "x", "key": "K", "value": "hacked", "profile": "default",
        }, **HTMX)
        assert response.status_code == 403
        stored = Secret.objects.get()
        assert (stored.name, stored.value.reveal()) == ("warehouse", "CONSOLE-CANARY")


class TestDecrypt:
    def test_R2_3_R2_4_the_value_shows_with_a_countdown_then_masks_itself(
        self, admin_client, secret, settings
    ):
        response = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
        html = response.content.decode()
        assert "CONSOLE-CANARY" in html
        assert 'data-countdown="30"' in html
        assert 'hx-trigger="load delay:30s"' in html
        assert f'hx-get="/secrets/{secret.pk}/masked/"' in html
        assert 'hx-history="false"' in html
        assert "no-store" in response["Cache-Control"]
        masked = admin_client.get(f"/secrets/{secret.pk}/masked/", **HTMX).content.decode()
        assert "********" in masked and "CONSOLE-CANARY" not in masked
        entry = AuditLog.objects.get(action="DECRYPT")
        assert (entry.channel, entry.allowed) == ("console", True)

    def test_R2_3_an_ssh_secret_reveals_its_value_alone_the_tunnel_stays_sealed(
        self, admin_client, admin_user, monkeypatch
    ):
        from secrets_app.fields import Sealed
        from secrets_app.services.secrets import SSHTunnelData

        secret = create_secret(
            admin_user, name="jump", key="SSH_HOST", value="CONSOLE-CANARY",
            ssh=SSHTunnelData(host="jump", username="u", password="TUN-PW", private_key="PEM"),
        )
        opened = []
        reveal = Sealed.reveal
        monkeypatch.setattr(Sealed, "reveal",
                            lambda sealed: opened.append(sealed.token) or reveal(sealed))
        html = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX).content.decode()
        assert "CONSOLE-CANARY" in html and "TUN-PW" not in html
        assert opened == [secret.value.token]  # not the tunnel's password nor its key
        entry = AuditLog.objects.get(action="DECRYPT")  # one row, as for any secret
        assert (entry.allowed, entry.secret_id, entry.channel, entry.detail) == (
            True, secret.pk, "console", {})

    def test_R2_2_a_forged_decrypt_by_a_non_admin_is_refused_and_audited(
        self, member_client, secret
    ):
        response = member_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
        assert response.status_code == 403
        assert "CONSOLE-CANARY" not in response.content.decode()
        assert AuditLog.objects.get(action="DECRYPT").allowed is False

    def test_R10_4_rate_limit_is_a_readable_message_in_the_row(
        self, admin_client, secret, settings
    ):
        settings.SECRETS_DECRYPT_RATE = "1/m"
        admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
        html = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX).content.decode()
        assert "Rate limit reached" in html and "CONSOLE-CANARY" not in html
        assert f'id="value-{secret.pk}"' in html  # still a cell that swaps back

    def test_console_posts_need_the_csrf_token(self, admin_user, secret):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.force_login(admin_user)
        assert strict.post(f"/secrets/{secret.pk}/decrypt/", **HTMX).status_code == 403
        assert not AuditLog.objects.filter(action="DECRYPT").exists()


class TestImportAndVersions:
    def test_R6_5_R6_6_import_through_the_dialog_shows_the_summary(self, admin_client):
        upload = SimpleUploadedFile("io_config.yaml",
                                    b"default:\n  API_TOKEN: a\n  NOTHING:\nqa:\n  X_KEY: b\n")
        response = admin_client.post("/secrets/import/", {"file": upload}, **HTMX)
        html = response.content.decode()
        assert 'data-testid="import-summary"' in html
        assert "<b>1</b> created" in html and "<b>1</b> skipped" in html
        assert "unknown profile &#x27;qa&#x27;" in html
        assert "secrets-changed" in events(response)

    def test_import_errors_show_in_the_dialog(self, admin_client):
        upload = SimpleUploadedFile("bad.yaml", b"- a\n- b\n")
        html = admin_client.post("/secrets/import/", {"file": upload}, **HTMX).content.decode()
        assert "Invalid YAML structure" in html

    def test_R13_versions_and_restore(self, admin_client, secret, admin_user):
        update_secret(secret, admin_user, value="SECOND-CANARY")
        html = admin_client.get(f"/secrets/{secret.pk}/versions/", **HTMX).content.decode()
        assert html.count('data-testid="version-row"') == 2
        assert "CONSOLE-CANARY" not in html and "SECOND-CANARY" not in html
        response = admin_client.post(f"/secrets/{secret.pk}/versions/1/restore/", **HTMX)
        assert response.status_code == 204
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "CONSOLE-CANARY"


class TestOtherPages:
    def test_R15_catalog_shows_sources_never_values(self, member_client, admin_user,
                                                    monkeypatch):
        create_secret(admin_user, name="POSTGRES_HOST", key="POSTGRES_HOST",
                      value="CATALOG-CANARY", profile="staging")
        monkeypatch.setenv("AWS_REGION", "ENV-CANARY")
        html = member_client.get("/catalog/").content.decode()
        assert "CATALOG-CANARY" not in html and "ENV-CANARY" not in html
        # R17.14: every service of Mage AI's io_config template has its group.
        assert html.count('data-testid="catalog-group"') == len(CONFIG_KEY_GROUPS) >= 23
        row = html[html.index("<code>POSTGRES_HOST</code>"):].split("</tr>")[0]
        assert [cell.split(">")[-1] for cell in row.split("</span>")[:-1]] == [
            "missing", "missing", "database", "missing"]
        row = html[html.index("<code>AWS_REGION</code>"):].split("</tr>")[0]
        assert row.count(">environment<") == 4

    def test_R14_settings_create_shows_the_key_once_then_revoke(self, member_client, member):
        response = member_client.post("/settings/", {"name": "laptop",
                                                     "expires_in_days": "30"})
        html = response.content.decode()
        token = ApiToken.objects.get(user=member)
        key = html.split('data-testid="new-token-key">')[1].split("<")[0]
        assert key.startswith(token.prefix)
        assert "no-store" in response["Cache-Control"]
        assert key not in member_client.get("/settings/").content.decode()
        member_client.post(f"/settings/tokens/{token.pk}/revoke/", **HTMX)
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None

    def test_R12_audit_page_export_and_verify_are_for_admins(self, admin_client, secret,
                                                             member):
        html = admin_client.get("/audit/").content.decode()
        assert "warehouse" in html and 'data-testid="verify-chain"' in html
        csv_text = b"".join(admin_client.get("/audit/export/?format=csv").streaming_content)
        assert csv_text.startswith(b"sequence,timestamp") and b"warehouse" in csv_text
        lines = b"".join(
            admin_client.get("/audit/export/?format=jsonl&action=CREATE").streaming_content
        ).splitlines()
        assert json.loads(lines[0])["action"] == "CREATE"
        verdict = admin_client.post("/audit/verify/", **HTMX).content.decode()
        assert "intact" in verdict
        admin_client.force_login(member)
        for path in ("/audit/", "/audit/export/?format=csv"):
            assert admin_client.get(path).status_code == 403
        assert admin_client.post("/audit/verify/").status_code == 403


class TestReviewedEdges:
    def test_a_history_restore_gets_the_whole_page(self, admin_client, secret):
        html = admin_client.get("/secrets/?search=ware", HTTP_HX_REQUEST="true",
                                HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
        assert 'class="dock"' in html and 'id="filters"' in html

    def test_signed_in_pages_are_never_stored(self, admin_client, secret, client):
        response = admin_client.get("/secrets/")
        assert "no-store" in response["Cache-Control"]
        response = admin_client.post(f"/secrets/{secret.pk}/decrypt/", **HTMX)
        assert "no-store" in response["Cache-Control"]

    def test_pager_links_carry_the_page_only_and_the_filters_once(self, admin_client,
                                                                  admin_user):
        for number in range(55):
            create_secret(admin_user, name=f"svc-{number:02}", key="API_TOKEN", value="v")
        html = admin_client.get("/secrets/?search=svc").content.decode()
        assert 'hx-get="/secrets/?page=2"' in html  # hx-include adds the filters
        assert 'href="?search=svc&amp;page=2"' in html  # without JavaScript too

    def test_audit_exports_follow_the_filters(self, admin_client, secret):
        html = admin_client.get("/audit/").content.decode()
        assert html.count('form="audit-filters" formaction="/audit/export/"') == 2

    def test_a_refused_page_is_styled_and_says_why(self, member_client):
        html = member_client.get("/audit/").content.decode()
        assert "Admin privileges required" in html and 'class="dock"' in html
