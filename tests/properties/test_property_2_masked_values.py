"""Property 2 (R1.3, R4.1): list and detail answers contain neither the plaintext nor the
ciphertext of any value, whatever the value."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.models import Secret
from secrets_app.services.secrets import SSHTunnelData, create_secret
from tests.helpers import rolled_back

# Any text (but a NUL, refused as a value, R17.9), behind a marker that cannot occur in an
# answer by chance: a bare generated value may happen to spell part of a field name.
values = st.builds(
    lambda marker, text: f"P2-{marker.hex}-{text}",
    st.uuids(), st.text(max_size=200).filter(lambda text: "\x00" not in text),
).filter(lambda text: text.strip() == text)


@pytest.mark.django_db
@given(value=values, tunnel_password=values)
def test_property_2_masked_values(admin_api, admin_user, value, tunnel_password):
    with rolled_back():
        secret = create_secret(admin_user, name="p2", key="SSH_HOST", value=value,
                               ssh=SSHTunnelData(host="h", username="u",
                                                 password=tunnel_password))
        stored = Secret.objects.select_related("ssh_tunnel").get(pk=secret.pk)
        forbidden = [value, tunnel_password, stored.value.token,
                     stored.ssh_tunnel.password.token]
        for url in ("/api/v1/secrets/", f"/api/v1/secrets/{secret.pk}/",
                    f"/api/v1/secrets/{secret.pk}/versions/"):
            response = admin_api.get(url)
            assert response.status_code == 200
            text = response.content.decode()
            as_json = json.dumps(response.json())  # escaped forms too
            for needle in forbidden:
                assert needle not in text and needle not in as_json
            assert "********" in text
