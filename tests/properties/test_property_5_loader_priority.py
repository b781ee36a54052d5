"""Property 5 (R5.4, R5.5): for any subset of sources holding a key, in the profile asked for
or only in `default`, the resolver answers from the highest-priority source (Database,
Environment, Config file, AWS); within a source the profile's own value beats `default`'s."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.services.secrets import create_secret
from secrets_app.sources.aws import AWSSecretLoader
from secrets_app.sources.chain import SOURCES, resolve
from secrets_app.sources.config_file import ConfigFileLoader
from secrets_app.sources.database import DatabaseLoader
from secrets_app.sources.environment import EnvironmentLoader
from tests.helpers import rolled_back

keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
profiles = st.sampled_from(["default", "production"])
# Where a source holds the key: in the asked profile, in default, in both.
placements = st.sets(st.sampled_from(["asked", "default"]), min_size=1)


@pytest.mark.django_db
@given(
    holders=st.dictionaries(st.sampled_from(SOURCES), placements),
    key=keys,
    profile=profiles,
)
def test_property_5_loader_priority(admin_user, aws, tmp_path, holders, key, profile):
    def where(source):
        """The profiles a source holds the key in."""
        return {profile if place == "asked" else "default" for place in holders.get(source, ())}

    def value(source, in_profile):
        return f"{source}-{in_profile}-{key}"

    environ = {key: value("environment", "any")} if "environment" in holders else {}
    path = tmp_path / f"config-{len(os.listdir(tmp_path))}.yaml"
    sections = "".join(
        f"{name}:\n  {key}: {value('config_file', name)}\n" for name in where("config_file")
    )
    path.write_text(sections or "{}\n")
    aws_names = [f"kozmo/{name}/{key}" for name in where("aws")]
    for name, secret_name in zip(where("aws"), aws_names, strict=True):
        aws.create_secret(Name=secret_name, SecretString=value("aws", name))
    loaders = (
        DatabaseLoader(), EnvironmentLoader(environ), ConfigFileLoader(str(path)),
        AWSSecretLoader(cache_seconds=0),
    )
    try:
        with rolled_back():
            for name in where("database"):
                create_secret(admin_user, name=key, key=key, value=value("database", name),
                              profile=name)
            resolution = resolve(key, profile, loaders)
            expected = next((source for source in SOURCES if source in holders), None)
            assert resolution.source == expected
            if expected == "environment":
                assert resolution.value.reveal() == value("environment", "any")
            elif expected:
                own_first = profile if profile in where(expected) else "default"
                assert resolution.value.reveal() == value(expected, own_first)
    finally:
        for secret_name in aws_names:
            aws.delete_secret(SecretId=secret_name, ForceDeleteWithoutRecovery=True)
