"""Property 10 (R3.1): a name exists at most once per profile; the same name in another
profile is fine. Duplicates are refused with the validation error, never a crash."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.constants import SecretProfile
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from secrets_app.validation import DUPLICATE_NAME
from tests.helpers import rolled_back

names = st.sampled_from(["alpha", "beta", "Alpha", "gamma delta"])
profiles = st.sampled_from(SecretProfile.values)


@pytest.mark.django_db
@given(attempts=st.lists(st.tuples(names, profiles), min_size=1, max_size=12))
def test_property_10_unique_name_per_profile(admin_user, attempts):
    with rolled_back():
        created, refused = set(), 0
        for name, profile in attempts:
            try:
                create_secret(admin_user, name=name, key="K", value="v", profile=profile)
                created.add((name, profile))
            except ValidationError as error:
                assert error.message_dict == {"name": [DUPLICATE_NAME]}
                assert (name, profile) in created
                refused += 1
        assert created == set(attempts)
        assert refused == len(attempts) - len(created)
        assert set(Secret.objects.values_list("name", "profile")) == created
