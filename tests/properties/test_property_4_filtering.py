"""Property 4 (R4.3 to R4.5): every listed secret matches every filter given, and every
secret that matches is listed, across all pages."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.constants import SecretCategory, SecretProfile
from secrets_app.list_counts import secrets_changed
from secrets_app.models import Secret
from tests.helpers import rolled_back

rows = st.lists(
    st.tuples(
        st.text(alphabet="abcXYZ_- ", min_size=1, max_size=8),
        st.sampled_from(["API_KEY", "AWS_REGION", "XYZ_TOKEN", "DB_ABC"]),
        st.sampled_from(SecretCategory.values),
        st.sampled_from(SecretProfile.values),
    ),
    max_size=30,
)
filters = st.fixed_dictionaries(
    {},
    optional={
        "search": st.text(alphabet="abcxyzABC_", min_size=1, max_size=3),
        "category": st.sampled_from(SecretCategory.values),
        "profile": st.sampled_from(SecretProfile.values),
    },
)


def matches(secret, wanted):
    search = wanted.get("search", "").lower()
    return (
        (not search or search in secret.name.lower() or search in secret.key.lower())
        and secret.category == wanted.get("category", secret.category)
        and secret.profile == wanted.get("profile", secret.profile)
    )


@pytest.mark.django_db
@given(data=rows, wanted=filters, page_size=st.integers(min_value=1, max_value=7))
def test_property_4_filtering(member_api, data, wanted, page_size):
    with rolled_back():
        Secret.objects.bulk_create(
            [Secret(name=f"{name}{n}", key=key, value="v", category=category, profile=profile)
             for n, (name, key, category, profile) in enumerate(data)]
        )
        secrets_changed()  # bulk_create skips the signals that tell the cached counts
        expected = {s.pk for s in Secret.objects.all() if matches(s, wanted)}
        seen = []
        url, params = "/api/v1/secrets/", {**wanted, "page_size": page_size}
        while url:
            response = member_api.get(url, params)
            assert response.status_code == 200, response.json()
            body = response.json()
            for item in body["results"]:
                secret = Secret.objects.get(pk=item["id"])
                assert matches(secret, wanted)
                seen.append(secret.pk)
            url, params = body["next"], None
        assert len(seen) == len(set(seen))  # no secret on two pages
        assert set(seen) == expected
