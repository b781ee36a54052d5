"""The audit log: fail closed (R10.1), fields (R10.2), append-only hash chain (R12)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.test import RequestFactory

from audit_app import log
from audit_app.context import audit_context
from audit_app.log import verify_chain
from audit_app.middleware import AuditContextMiddleware, client_ip
from audit_app.models import AppendOnlyError, AuditLog
from secrets_app.models import Secret
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import (
    create_secret,
    delete_secret,
    restore_version,
    update_secret,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def break_audit(monkeypatch):
    """Call it to make every audit insert fail, as a full disk or a lost connection would."""

    def fail(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    return lambda: monkeypatch.setattr(AuditLog.objects, "bulk_create", fail)


class TestFailClosed:
    def test_R10_1_create_does_not_happen_without_its_audit_row(self, admin_user, break_audit):
        break_audit()
        with pytest.raises(DatabaseError):
            create_secret(admin_user, name="n", key="K", value="v")
        assert not Secret.objects.exists()

    def test_R10_1_update_does_not_happen_without_its_audit_row(self, admin_user, break_audit):
        secret = create_secret(admin_user, name="n", key="K", value="v1")
        break_audit()
        with pytest.raises(DatabaseError):
            update_secret(secret, admin_user, value="v2", description="d")
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "v1"
        assert stored.description == ""
        assert stored.versions.count() == 1

    def test_R10_1_delete_does_not_happen_without_its_audit_row(self, admin_user, break_audit):
        secret = create_secret(admin_user, name="n", key="K", value="v")
        break_audit()
        with pytest.raises(DatabaseError):
            delete_secret(secret, admin_user)
        assert Secret.objects.filter(pk=secret.pk).exists()

    def test_R10_1_decrypt_gives_nothing_without_its_audit_row(self, admin_user, break_audit):
        secret = create_secret(admin_user, name="n", key="K", value="v")
        break_audit()
        with pytest.raises(DatabaseError):
            decrypt_secret(secret, admin_user)

    def test_R10_1_restore_does_not_happen_without_its_audit_row(self, admin_user, break_audit):
        secret = create_secret(admin_user, name="n", key="K", value="v1")
        update_secret(secret, admin_user, value="v2")
        break_audit()
        with pytest.raises(DatabaseError):
            restore_version(secret, 1, admin_user)
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "v2"
        assert stored.versions.count() == 2


@pytest.mark.django_db(transaction=True)
def test_R10_1_secret_changes_outside_a_transaction_are_refused(admin_user):
    """Without a transaction the row could commit before its audit row: refused up front."""
    from secrets_app.signals import UnauditedChange

    with pytest.raises(UnauditedChange):
        Secret(name="n", key="K", value="v").save()
    assert not Secret.objects.exists()


class TestFields:
    def test_R10_2_an_entry_has_who_what_when_where_and_channel(self, admin_user):
        request = RequestFactory().post(
            "/api/v1/secrets/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="curl/8.0"
        )
        request.user = admin_user

        def view(request):
            create_secret(request.user, name="n", key="K", value="v", profile="staging")
            return None

        AuditContextMiddleware(view)(request)
        entry = AuditLog.objects.get()
        assert entry.user_id == admin_user.pk and entry.username == "root"
        assert entry.action == "CREATE" and entry.allowed
        assert entry.timestamp is not None
        assert entry.ip_address == "203.0.113.9"
        assert entry.user_agent == "curl/8.0"
        assert entry.channel == "api"
        assert (entry.secret_name, entry.secret_profile) == ("n", "staging")

    @pytest.mark.parametrize("address", ["::ffff:10.0.0.1", "2001:db8:0:0:0:0:0:1", "::1"])
    def test_R12_any_client_address_keeps_the_chain_intact(self, admin_user, address):
        request = RequestFactory().get("/api/v1/secrets/", REMOTE_ADDR=address)
        request.user = admin_user

        def view(request):
            create_secret(request.user, name="n", key="K", value="v")
            log.record("DECRYPT", secret_id=str(AuditLog.objects.get().secret_id),
                       detail={"ratio": 0.1, "items": ("a", "b")})

        AuditContextMiddleware(view)(request)
        report = verify_chain()
        assert report.ok, report.message
        assert report.checked == 2

    def test_R10_2_console_and_admin_channels(self):
        from audit_app.middleware import channel_for

        assert channel_for("/secrets/") == "console"
        assert channel_for("/admin/secrets_app/") == "admin"
        assert channel_for("/api/v1/audit/") == "api"

    def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(self, settings):
        settings.SECRETS_TRUSTED_PROXIES = ["10.0.0.1"]
        request = RequestFactory().get(
            "/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4"
        )
        assert client_ip(request) == "198.51.100.7"

    def test_forwarded_for_from_a_trusted_proxy_is_used(self, settings):
        settings.SECRETS_TRUSTED_PROXIES = ["10.0.0.0/8"]
        request = RequestFactory().get(
            "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7, 10.0.0.2"
        )
        assert client_ip(request) == "198.51.100.7"

    def test_no_trusted_proxies_means_remote_addr(self, settings):
        settings.SECRETS_TRUSTED_PROXIES = []
        request = RequestFactory().get("/", REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="1.2.3.4")
        assert client_ip(request) == "::1"


class TestAppendOnly:
    def test_R12_rows_cannot_be_updated_or_deleted(self, admin_user):
        create_secret(admin_user, name="n", key="K", value="v")
        entry = AuditLog.objects.get()
        entry.username = "mallory"
        with pytest.raises(AppendOnlyError):
            entry.save()
        with pytest.raises(AppendOnlyError):
            entry.delete()
        with pytest.raises(AppendOnlyError):
            AuditLog.objects.update(username="mallory")
        with pytest.raises(AppendOnlyError):
            AuditLog.objects.all().delete()
        assert AuditLog.objects.get().username == "root"


def _tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _entries(admin_user, count=5):
    with audit_context(user=admin_user):
        for number in range(count):
            log.record("DECRYPT", secret_name=f"s{number}")


class TestChain:
    def test_R12_an_intact_log_verifies(self, admin_user, capsys):
        _entries(admin_user)
        call_command("verify_audit_log")
        assert "5 entries verified" in capsys.readouterr().out

    def test_R12_each_row_links_to_the_one_before(self, admin_user):
        _entries(admin_user, 3)
        first, second, third = AuditLog.objects.order_by("sequence")
        assert first.prev_hash == "0" * 64
        assert second.prev_hash == first.entry_hash
        assert third.prev_hash == second.entry_hash

    def test_R12_an_altered_row_is_named(self, admin_user):
        _entries(admin_user)
        _tamper("UPDATE audit_app_auditlog SET username = %s WHERE sequence = 3", ["mallory"])
        with pytest.raises(CommandError, match=r"Entry #3 .*was altered"):
            call_command("verify_audit_log")

    def test_R12_an_altered_allowed_flag_is_named(self, admin_user):
        _entries(admin_user)
        _tamper("UPDATE audit_app_auditlog SET allowed = %s WHERE sequence = 2", [False])
        with pytest.raises(CommandError, match=r"Entry #2 "):
            call_command("verify_audit_log")

    def test_R12_a_deleted_row_is_named(self, admin_user):
        _entries(admin_user)
        _tamper("DELETE FROM audit_app_auditlog WHERE sequence = %s", [2])
        with pytest.raises(CommandError, match=r"Entry #2 is missing"):
            call_command("verify_audit_log")

    def test_R12_a_truncated_tail_is_noticed(self, admin_user):
        _entries(admin_user)
        _tamper("DELETE FROM audit_app_auditlog WHERE sequence >= %s", [4])
        with pytest.raises(CommandError, match=r"ends at #3 .* expects #5"):
            call_command("verify_audit_log")

    def test_R12_verify_fails_with_exit_status_1(self, admin_user):
        _entries(admin_user)
        _tamper("UPDATE audit_app_auditlog SET secret_name = %s WHERE sequence = 4", ["x"])
        with pytest.raises(CommandError) as error:
            call_command("verify_audit_log")
        assert error.value.returncode == 1
