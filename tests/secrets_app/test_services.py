"""The service layer: create, update, delete, decrypt, restore (R2, R3, R7, R13)."""

import pytest
from django.core.exceptions import ValidationError

from audit_app.models import AuditLog
from secrets_app.access.permissions import AdminRequired
from secrets_app.models import Secret, SecretVersion, SSHTunnel
from secrets_app.services import secrets as services
from secrets_app.services.reveal import DecryptFailed, decrypt_secret
from secrets_app.services.secrets import (
    SSHTunnelData,
    create_secret,
    delete_secret,
    restore_version,
    update_secret,
)
from secrets_app.validation import DUPLICATE_NAME

pytestmark = pytest.mark.django_db


def actions():
    return list(AuditLog.objects.order_by("sequence").values_list("action", "allowed"))


def make(user, **overrides):
    fields = {"name": "DB password", "key": "POSTGRES_PASSWORD", "value": "s3cret"}
    fields.update(overrides)
    return create_secret(user, **fields)


class TestCreate:
    def test_R1_4_it_stores_every_field(self, admin_user):
        secret = make(admin_user, description="warehouse", profile="production")
        secret.refresh_from_db()
        assert (secret.name, secret.key, secret.profile) == (
            "DB password", "POSTGRES_PASSWORD", "production",
        )
        assert secret.description == "warehouse"
        assert secret.created_by == secret.updated_by == admin_user
        assert secret.created_at and secret.updated_at
        assert secret.value.reveal() == "s3cret"

    def test_R6_2_category_is_inferred_from_the_key_group(self, admin_user):
        assert make(admin_user).category == "Database"
        assert make(admin_user, name="a", key="AWS_REGION").category == "AWS"
        assert make(admin_user, name="b", key="BIGQUERY_DATASET").category == "GCP"
        assert make(admin_user, name="c", key="MY_TOKEN").category == "Custom"
        assert make(admin_user, name="d", key="MY_TOKEN", category="Azure").category == "Azure"

    def test_R13_it_keeps_the_first_version(self, admin_user):
        secret = make(admin_user)
        (version,) = secret.versions.all()
        assert version.number == 1
        assert version.created_by == admin_user
        assert version.value.reveal() == "s3cret"

    def test_R10_1_it_is_audited(self, admin_user):
        secret = make(admin_user)
        entry = AuditLog.objects.get()
        assert entry.action == "CREATE"
        assert entry.secret_id == secret.pk
        assert (entry.secret_name, entry.secret_profile) == ("DB password", "default")
        assert entry.username == "root"
        assert entry.allowed

    def test_R3_1_duplicate_name_in_a_profile_is_refused(self, admin_user):
        make(admin_user)
        with pytest.raises(ValidationError) as error:
            make(admin_user, value="other")
        assert error.value.message_dict == {"name": [DUPLICATE_NAME]}
        assert Secret.objects.count() == 1

    def test_R3_1_same_name_in_another_profile_is_fine(self, admin_user):
        make(admin_user)
        make(admin_user, profile="staging")
        assert Secret.objects.count() == 2

    def test_R3_1_the_database_constraint_decides_a_race(self, admin_user, monkeypatch):
        """With the pre-check skipped (as when two requests pass it together), the unique
        constraint still refuses the second row with the same validation error."""
        make(admin_user)
        monkeypatch.setattr(services, "_validate", lambda secret: secret.full_clean(
            validate_unique=False, validate_constraints=False))
        with pytest.raises(ValidationError, match=DUPLICATE_NAME):
            make(admin_user)
        assert Secret.objects.count() == 1

    @pytest.mark.parametrize(
        ("field", "bad", "message"),
        [
            ("key", "lower_case", "UPPER_SNAKE"),
            ("key", "", "cannot be blank"),
            ("name", "", "cannot be blank"),
            ("name", "tab\there", "invisible or control character (U+0009)"),
            ("name", "x" * 256, "at most 255"),
            ("category", "Nope", "not a valid choice"),
            # R22: the refusal names the setting that would admit the profile.
            ("profile", "qa", "unknown profile 'qa': add it to SECRETS_PROFILES"),
        ],
    )
    def test_bad_input_says_what_to_fix(self, admin_user, field, bad, message):
        with pytest.raises(ValidationError) as error:
            make(admin_user, **{field: bad})
        assert message in " ".join(error.value.message_dict[field])
        assert not Secret.objects.exists()
        assert not AuditLog.objects.exists()

    def test_a_value_over_the_limit_is_refused(self, admin_user, settings):
        settings.SECRETS_MAX_VALUE_BYTES = 100
        with pytest.raises(ValidationError, match="at most 100 bytes"):
            make(admin_user, value="x" * 101)
        assert not Secret.objects.exists()

    def test_R3_6_non_admins_cannot_create(self, member):
        with pytest.raises(AdminRequired, match="Admin privileges required"):
            make(member)
        assert not Secret.objects.exists()

    def test_group_members_are_admins(self, secrets_admin):
        assert make(secrets_admin).created_by == secrets_admin


class TestUpdate:
    def test_R3_2_a_changed_value_is_re_encrypted_and_moves_updated_at(self, admin_user):
        secret = make(admin_user)
        old_token, old_updated = secret.value.token, secret.updated_at
        update_secret(secret, admin_user, value="n3w")
        secret.refresh_from_db()
        assert secret.value.token != old_token
        assert secret.value.reveal() == "n3w"
        assert secret.updated_at > old_updated
        assert [v.number for v in secret.versions.all()] == [2, 1]
        entry = AuditLog.objects.order_by("sequence").last()
        assert (entry.action, entry.detail) == ("UPDATE", {"changed": ["value"]})

    def test_R3_4_no_value_keeps_the_stored_one(self, admin_user):
        secret = make(admin_user)
        token = secret.value.token
        update_secret(secret, admin_user, description="now described")
        secret.refresh_from_db()
        assert secret.value.token == token
        assert secret.description == "now described"
        assert secret.versions.count() == 1

    def test_nothing_changed_writes_nothing(self, admin_user):
        secret = make(admin_user)
        update_secret(secret, admin_user, name="DB password", description="")
        assert secret.versions.count() == 1
        assert [a for a, _ in actions()] == ["CREATE"]

    def test_R17_2_a_value_sent_is_stored_even_when_it_is_the_same(self, admin_user):
        """Otherwise "a new version or not" would confirm a guessed value."""
        secret = make(admin_user)
        for guess in ("wrong", "s3cret"):
            update_secret(secret, admin_user, value=guess)
        assert secret.versions.count() == 3
        assert [a for a, _ in actions()] == ["CREATE", "UPDATE", "UPDATE"]

    def test_R3_1_renaming_onto_an_existing_name_is_refused(self, admin_user):
        make(admin_user, name="taken")
        secret = make(admin_user)
        with pytest.raises(ValidationError, match=DUPLICATE_NAME):
            update_secret(secret, admin_user, name="taken")
        assert Secret.objects.get(pk=secret.pk).name == "DB password"

    def test_R3_6_non_admins_cannot_update(self, admin_user, member):
        secret = make(admin_user)
        with pytest.raises(AdminRequired):
            update_secret(secret, member, value="hacked")
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "s3cret"


class TestDelete:
    def test_R3_3_delete_removes_the_secret_and_audits_it(self, admin_user):
        secret = make(admin_user)
        delete_secret(secret, admin_user)
        assert not Secret.objects.exists()
        assert not SecretVersion.objects.exists()
        entry = AuditLog.objects.order_by("sequence").last()
        assert (entry.action, entry.secret_name, entry.username) == (
            "DELETE", "DB password", "root",
        )

    def test_R3_6_non_admins_cannot_delete(self, admin_user, member):
        secret = make(admin_user)
        with pytest.raises(AdminRequired):
            delete_secret(secret, member)
        assert Secret.objects.filter(pk=secret.pk).exists()


class TestDecrypt:
    def test_R2_1_admins_get_the_plaintext_and_it_is_audited(self, admin_user):
        secret = make(admin_user)
        assert decrypt_secret(secret, admin_user) == "s3cret"
        assert actions()[-1] == ("DECRYPT", True)

    def test_R2_2_others_are_refused_and_the_attempt_is_audited(self, admin_user, member):
        secret = make(admin_user)
        with pytest.raises(AdminRequired, match=r"^Admin privileges required$"):
            decrypt_secret(secret, member)
        entry = AuditLog.objects.order_by("sequence").last()
        assert (entry.action, entry.allowed, entry.username) == ("DECRYPT", False, "bob")
        assert entry.secret_id == secret.pk

    def test_R2_2_inactive_admins_are_refused(self, admin_user):
        secret = make(admin_user)
        admin_user.is_active = False
        with pytest.raises(AdminRequired):
            decrypt_secret(secret, admin_user)

    def test_a_value_under_an_unknown_key_fails_cleanly_and_is_audited(
        self, admin_user, use_keys
    ):
        secret = make(admin_user)
        use_keys("another-key-that-never-encrypted-this-value")
        with pytest.raises(DecryptFailed, match=r"^Failed to decrypt secret$"):
            decrypt_secret(secret, admin_user)
        entry = AuditLog.objects.order_by("sequence").last()
        assert entry.action == "DECRYPT"
        assert entry.detail["outcome"] == "failed"


class TestRestore:
    def test_R13_restore_makes_an_old_value_current_as_a_new_version(self, admin_user):
        secret = make(admin_user)
        update_secret(secret, admin_user, value="v2")
        restore_version(secret, 1, admin_user)
        secret.refresh_from_db()
        assert secret.value.reveal() == "s3cret"
        newest = secret.versions.first()
        assert (newest.number, newest.restored_from) == (3, 1)
        entry = AuditLog.objects.order_by("sequence").last()
        assert entry.action == "RESTORE"
        assert entry.detail == {"restored_version": 1, "new_version": 3}

    def test_restoring_a_missing_version_says_so(self, admin_user):
        secret = make(admin_user)
        with pytest.raises(services.VersionNotFound, match="Version 9"):
            restore_version(secret, 9, admin_user)

    def test_R3_6_non_admins_cannot_restore(self, admin_user, member):
        secret = make(admin_user)
        update_secret(secret, admin_user, value="v2")
        with pytest.raises(AdminRequired):
            restore_version(secret, 1, member)
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "v2"


class TestSSHTunnel:
    def test_R7_1_R7_2_tunnel_password_and_key_are_encrypted(self, admin_user):
        tunnel = SSHTunnelData(
            host="bastion.internal", port=2222, username="deploy",
            password="tunnel-pass", private_key="-----BEGIN KEY-----\nabc\n-----END KEY-----",
        )
        secret = make(admin_user, name="bastion", key="SSH_PRIVATE_KEY", ssh=tunnel)
        assert secret.category == "SSH"
        stored = SSHTunnel.objects.get(secret=secret)
        assert (stored.host, stored.port, stored.username) == ("bastion.internal", 2222, "deploy")
        assert stored.password.reveal() == "tunnel-pass"
        assert stored.private_key.reveal().startswith("-----BEGIN KEY-----")
        assert str(stored.password) == "********"

    def test_R7_2_update_without_password_keeps_it(self, admin_user):
        tunnel = SSHTunnelData(host="h", username="u", password="keep-me")
        secret = make(admin_user, name="b", key="SSH_HOST", ssh=tunnel)
        update_secret(secret, admin_user, ssh=SSHTunnelData(host="h2", username="u"))
        stored = SSHTunnel.objects.get(secret=secret)
        assert stored.host == "h2"
        assert stored.password.reveal() == "keep-me"

    def test_a_tunnel_needs_category_ssh(self, admin_user):
        with pytest.raises(ValidationError, match="category SSH"):
            make(admin_user, key="MY_KEY", ssh=SSHTunnelData(host="h", username="u"))

    def test_a_bad_port_is_refused(self, admin_user):
        with pytest.raises(ValidationError) as error:
            make(admin_user, key="SSH_HOST", ssh=SSHTunnelData(host="h", username="u", port=0))
        assert "port" in error.value.message_dict
        assert not Secret.objects.exists()

    def test_leaving_category_ssh_drops_the_tunnel(self, admin_user):
        secret = make(admin_user, key="SSH_HOST", ssh=SSHTunnelData(host="h", username="u"))
        update_secret(secret, admin_user, category="Custom")
        assert not SSHTunnel.objects.exists()


def test_a_refused_update_leaves_the_object_as_stored(admin_user):
    secret = make(admin_user)
    with pytest.raises(ValidationError):
        update_secret(secret, admin_user, key="not snake", value="changed")
    assert secret.key == "POSTGRES_PASSWORD"
    assert secret.value.reveal() == "s3cret"


class TestStaleCopies:
    """Services apply changes to the stored row, never to a caller's old copy."""

    def test_an_update_from_a_stale_copy_does_not_revert_the_value(self, admin_user):
        secret = make(admin_user)
        copy_a, copy_b = Secret.objects.get(pk=secret.pk), Secret.objects.get(pk=secret.pk)
        update_secret(copy_a, admin_user, value="v2")
        update_secret(copy_b, admin_user, description="described")
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "v2"
        assert stored.description == "described"
        assert stored.versions.first().value.token == stored.value.token

    def test_a_stale_copy_cannot_undo_a_rotation(self, admin_user, use_keys):
        from django.core.management import call_command

        from secrets_app.crypto import configured_keys

        secret = make(admin_user)
        stale = Secret.objects.get(pk=secret.pk)
        old_keys = configured_keys()[0]
        use_keys("the-new-key-0123456789-0123456789-0123", *old_keys)
        call_command("rotate_encryption_key", verbosity=0, stdout=None)
        update_secret(stale, admin_user, description="after rotation")
        use_keys("the-new-key-0123456789-0123456789-0123")
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "s3cret"

    def test_a_deleted_secret_does_not_come_back(self, admin_user):
        secret = make(admin_user)
        stale = Secret.objects.get(pk=secret.pk)
        delete_secret(secret, admin_user)
        with pytest.raises(Secret.DoesNotExist):
            update_secret(stale, admin_user, description="zombie")
        assert not Secret.objects.exists()

    def test_update_returns_the_stored_secret(self, admin_user):
        secret = make(admin_user)
        updated = update_secret(secret, admin_user, name="renamed")
        assert updated.name == "renamed"
        assert Secret.objects.get(pk=secret.pk).name == "renamed"
