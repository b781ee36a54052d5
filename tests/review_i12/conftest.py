"""Callers the outside reviews of issue 12 use: people granted one role on one profile."""

import pytest
from django.contrib.auth.models import User

from secrets_app.access.grants import add_grant


def _granted(admin_user, username: str, profile: str, role: str):
    user = User.objects.create_user(username, "", f"{username}-password")
    add_grant(admin_user, user, profile, role)
    return user


@pytest.fixture
def dev_reader(admin_user):
    return _granted(admin_user, "rita", "development", "reader")


@pytest.fixture
def dev_editor(admin_user):
    return _granted(admin_user, "ed", "development", "editor")


@pytest.fixture
def prod_editor(admin_user):
    return _granted(admin_user, "pat", "production", "editor")
