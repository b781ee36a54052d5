"""R11: rotate_encryption_key re-encrypts everything under the first key, resumably."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit_app.models import AuditLog
from secrets_app.crypto import get_encryption_service
from secrets_app.models import Secret, SecretVersion, SSHTunnel
from secrets_app.services.secrets import SSHTunnelData, create_secret, update_secret

pytestmark = pytest.mark.django_db

KEY_A = "key-A-0123456789-0123456789-0123456789"
KEY_B = "key-B-0123456789-0123456789-0123456789"


@pytest.fixture
def written_under_a(admin_user, use_keys):
    use_keys(KEY_A)
    values = {}
    for number in range(7):
        secret = create_secret(admin_user, name=f"s{number}", key="K", value=f"value-{number}")
        values[secret.pk] = f"value-{number}"
    update_secret(secret, admin_user, value="value-6-new")
    values[secret.pk] = "value-6-new"
    create_secret(
        admin_user, name="ssh", key="SSH_HOST", value="",
        ssh=SSHTunnelData(host="h", username="u", password="pw", private_key="pk"),
    )
    return values


def all_tokens():
    tokens = [s.value.token for s in Secret.objects.all()]
    tokens += [v.value.token for v in SecretVersion.objects.all()]
    for tunnel in SSHTunnel.objects.all():
        tokens += [tunnel.password.token, tunnel.private_key.token]
    return tokens


def test_R11_after_rotation_the_old_key_can_be_dropped(written_under_a, use_keys, capsys):
    use_keys(KEY_B, KEY_A)
    call_command("rotate_encryption_key", batch_size=3)
    output = capsys.readouterr().out
    assert "secrets: 3/8 checked" in output  # progress per batch
    assert "Rotation complete: 18 row(s)" in output

    use_keys(KEY_B)
    service = get_encryption_service()
    assert all(service.is_current(token) for token in all_tokens())
    for pk, value in written_under_a.items():
        assert Secret.objects.get(pk=pk).value.reveal() == value
    assert {v.value.reveal() for v in SecretVersion.objects.filter(number=1)} >= {"value-6"}
    tunnel = SSHTunnel.objects.get()
    assert (tunnel.password.reveal(), tunnel.private_key.reveal()) == ("pw", "pk")


def test_R11_rotation_is_audited_per_batch(written_under_a, use_keys):
    use_keys(KEY_B, KEY_A)
    before = AuditLog.objects.count()
    call_command("rotate_encryption_key", batch_size=5)
    rotations = AuditLog.objects.filter(action="ROTATE").order_by("sequence")
    assert AuditLog.objects.count() - before == rotations.count()
    assert sum(entry.detail["rows"] for entry in rotations) == 8 + 9 + 1
    assert {entry.channel for entry in rotations} == {"cli"}


def test_R11_running_twice_is_harmless(written_under_a, use_keys, capsys):
    use_keys(KEY_B, KEY_A)
    call_command("rotate_encryption_key")
    tokens = all_tokens()
    audit_rows = AuditLog.objects.count()
    capsys.readouterr()
    call_command("rotate_encryption_key")
    assert "Rotation complete: 0 row(s)" in capsys.readouterr().out
    assert all_tokens() == tokens
    assert AuditLog.objects.count() == audit_rows


def test_R11_rotation_does_not_touch_updated_at(written_under_a, use_keys):
    before = dict(Secret.objects.values_list("pk", "updated_at"))
    use_keys(KEY_B, KEY_A)
    call_command("rotate_encryption_key")
    assert dict(Secret.objects.values_list("pk", "updated_at")) == before


def test_R11_a_value_no_key_opens_is_reported(written_under_a, use_keys):
    use_keys(KEY_B)  # KEY_A forgotten before rotating
    with pytest.raises(CommandError, match=r"could not be decrypted .* Add the key"):
        call_command("rotate_encryption_key")
