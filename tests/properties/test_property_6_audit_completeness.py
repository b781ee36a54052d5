"""Property 6 (R2.5, R3.3, R10.1, R10.2, R18): every operation, granted or denied, leaves exactly
the audit rows it should, with the right user, action, secret and outcome, and no value."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit_app.models import AuditLog
from secrets_app.access.permissions import AdminRequired
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import (
    create_secret,
    delete_secret,
    restore_version,
    update_secret,
)
from tests.helpers import rolled_back

operations = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "decrypt", "restore", "delete"]),
        st.booleans(),  # performed by an admin?
        st.integers(min_value=0, max_value=3),  # which secret
    ),
    min_size=1,
    max_size=15,
)

EXPECTED_ACTION = {
    "create": "CREATE", "update": "UPDATE", "decrypt": "DECRYPT",
    "restore": "RESTORE", "delete": "DELETE",
}


@pytest.mark.django_db
@given(ops=operations)
def test_property_6_audit_completeness(admin_user, member, ops):
    with rolled_back():
        secrets = {}
        expected = []
        values = []
        for step, (operation, as_admin, slot) in enumerate(ops):
            user = admin_user if as_admin else member
            value = f"VALUE-{step}-never-audited"
            values.append(value)
            secret = secrets.get(slot)
            if operation != "create" and secret is None:
                continue
            if operation == "create" and secret is not None:
                continue
            try:
                if operation == "create":
                    secrets[slot] = create_secret(user, name=f"s{slot}", key="K", value=value)
                elif operation == "update":
                    update_secret(secret, user, value=value)
                elif operation == "decrypt":
                    decrypt_secret(secret, user)
                elif operation == "restore":
                    restore_version(secret, 1, user)
                else:
                    delete_secret(secret, user)
                    del secrets[slot]
            except AdminRequired:
                assert not as_admin
                # Denied decrypts are audited as decrypts (R2.5), denied writes as DENIED (R18).
                action = "DECRYPT" if operation == "decrypt" else "DENIED"
                expected.append((action, False, member.username, f"s{slot}"))
                continue
            assert as_admin
            expected.append((EXPECTED_ACTION[operation], True, user.username, f"s{slot}"))

        rows = list(AuditLog.objects.order_by("sequence"))
        actual = [(r.action, r.allowed, r.username, r.secret_name) for r in rows]
        assert actual == expected
        text = " ".join(f"{r.detail} {r.secret_name} {r.user_agent}" for r in rows)
        assert not any(value in text for value in values)
