"""Property 3 (R2.2, R3.6): whatever a non-admin sends to create, update, delete or decrypt,
the answer is 403 `Admin privileges required` and nothing changes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret
from tests.helpers import rolled_back

bodies = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=30), "key": st.text(max_size=30),
        "value": st.one_of(st.text(max_size=30), st.integers(), st.none()),
        "category": st.sampled_from(["AWS", "SSH", "Nope"]),
        "profile": st.sampled_from(["default", "production", "qa"]),
    },
)
operations = st.sampled_from(["create", "put", "patch", "delete", "decrypt", "restore",
                              "import"])


def snapshot():
    return (
        sorted((s.pk, s.name, s.key, s.category, s.profile, s.value.token, s.updated_at)
               for s in Secret.objects.all()),
        SecretVersion.objects.count(),
    )


@pytest.mark.django_db
@given(operation=operations, body=bodies)
def test_property_3_non_admin_rejection(member_api, admin_user, operation, body):
    with rolled_back():
        secret = create_secret(admin_user, name="target", key="API_TOKEN", value="v")
        before = snapshot()
        detail = f"/api/v1/secrets/{secret.pk}/"
        response = {
            "create": lambda: member_api.post("/api/v1/secrets/", body, format="json"),
            "put": lambda: member_api.put(detail, body, format="json"),
            "patch": lambda: member_api.patch(detail, body, format="json"),
            "delete": lambda: member_api.delete(detail),
            "decrypt": lambda: member_api.post(f"{detail}decrypt/"),
            "restore": lambda: member_api.post(f"{detail}versions/1/restore/"),
            "import": lambda: member_api.generic(
                "POST", "/api/v1/secrets/import/", b"API_TOKEN: hacked\n",
                content_type="application/yaml"),
        }[operation]()
        assert response.status_code == 403
        assert response.json() == {"detail": "Admin privileges required"}
        assert snapshot() == before
