"""Property 9 (R6.4): importing any file twice leaves the same secrets as importing it once,
and the second import creates nothing."""

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.constants import SecretProfile
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file
from tests.helpers import rolled_back

# Without 0, 1 and I: X0/XO and X1/XI look alike, and one of each pair fails (R17.11,
# tested in test_validation.py).
keys = st.from_regex(r"[A-HJ-Z][A-HJ-Z2-9_]{0,12}", fullmatch=True)
scalars = st.one_of(
    # Templates: see test_commands; a NUL and the mask are refused as values (R17.9).
    st.text(max_size=40).filter(
        lambda text: "{{" not in text and "\x00" not in text and text != "********"),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
documents = st.dictionaries(
    st.sampled_from(SecretProfile.values),
    st.dictionaries(keys, scalars, max_size=8),
    max_size=4,
)


def stored():
    return {(s.name, s.profile): s.value.reveal() for s in Secret.objects.all()}


@pytest.mark.django_db
@given(document=documents)
def test_property_9_import_is_an_upsert(admin_user, document):
    data = yaml.safe_dump(document, allow_unicode=True).encode()
    with rolled_back():
        first = import_file(data, user=admin_user)
        after_first = stored()
        second = import_file(data, user=admin_user)
        assert stored() == after_first
        assert second.created == 0 and second.updated == 0
        assert second.unchanged == first.created + first.updated
        expected = {
            (key, profile) for profile, entries in document.items()
            for key, value in entries.items() if value not in (None, "")  # "": R17.9
        }
        assert set(after_first) == expected
