"""Property 1 (R1.1, R1.2, R2.1): whatever text goes in comes back out of decrypt, and what is
stored is never the text itself."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from secrets_app.crypto import get_encryption_service
from secrets_app.fields import Sealed
from secrets_app.models import Secret
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import create_secret
from tests.helpers import rolled_back

any_text = st.text()  # any Unicode code point but surrogates, empty included
large_text = st.text(min_size=1, max_size=20).map(lambda chunk: chunk * 50_000)


@given(plaintext=st.one_of(any_text, large_text))
@example(plaintext="")
@example(plaintext="\x00")
@example(plaintext="x" * 2_000_000)
def test_property_1_service_round_trip(plaintext):
    service = get_encryption_service()
    token = service.encrypt(plaintext)
    assert service.decrypt(token) == plaintext
    if len(plaintext) >= 16:  # shorter strings may turn up in base64 by chance
        assert plaintext not in token


@given(plaintext=any_text)
def test_property_1_sealed_round_trip(plaintext):
    sealed = Sealed.encrypt(plaintext)
    assert sealed.reveal() == plaintext
    assert str(sealed) == repr(sealed)[7:-1] == "********"


@pytest.mark.django_db
# "" and a NUL are refused as stored values (R17.9); the cipher itself takes any text above.
@given(plaintext=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                         min_size=1, max_size=3000).filter(lambda text: text != "********"))
@example(plaintext=" ")
def test_property_1_round_trip_through_the_database(admin_user, plaintext):
    with rolled_back():
        secret = create_secret(admin_user, name="p1", key="K", value=plaintext)
        stored = Secret.objects.get(pk=secret.pk)
        assert decrypt_secret(stored, admin_user) == plaintext
