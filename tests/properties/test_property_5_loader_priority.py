"""Property 5 (R5.4): for any subset of sources holding a key, the resolver answers from the
highest-priority one (Database, Environment, Config file, AWS), with that source's value."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.loaders.aws import AWSSecretLoader
from secrets_app.loaders.config_file import ConfigFileLoader
from secrets_app.loaders.database import DatabaseLoader
from secrets_app.loaders.environment import EnvironmentLoader
from secrets_app.loaders.resolver import SOURCES, resolve
from secrets_app.services import create_secret
from tests.conftest import rolled_back

keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True)
profiles = st.sampled_from(["default", "production"])


@pytest.mark.django_db
@given(holders=st.sets(st.sampled_from(SOURCES)), key=keys, profile=profiles)
def test_property_5_loader_priority(admin_user, aws, tmp_path, holders, key, profile):
    value_of = {source: f"{source}-value-for-{key}" for source in SOURCES}
    environ = {key: value_of["environment"]} if "environment" in holders else {}
    path = tmp_path / f"config-{len(os.listdir(tmp_path))}.yaml"
    path.write_text(f"{profile}:\n  {key}: {value_of['config_file']}\n"
                    if "config_file" in holders else "{}\n")
    secret_name = f"kozmo/{profile}/{key}"
    if "aws" in holders:
        aws.create_secret(Name=secret_name, SecretString=value_of["aws"])
    loaders = (
        DatabaseLoader(), EnvironmentLoader(environ), ConfigFileLoader(str(path)),
        AWSSecretLoader(cache_seconds=0),
    )
    try:
        with rolled_back():
            if "database" in holders:
                create_secret(admin_user, name=key, key=key, value=value_of["database"],
                              profile=profile)
            resolution = resolve(key, profile, loaders)
            expected = next((source for source in SOURCES if source in holders), None)
            assert resolution.source == expected
            if expected:
                assert resolution.value.reveal() == value_of[expected]
    finally:
        if "aws" in holders:
            aws.delete_secret(SecretId=secret_name, ForceDeleteWithoutRecovery=True)
