"""Races on PostgreSQL + Redis (DATABASE_URL/REDIS_URL; skipped otherwise)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from audit_app import log
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from tests.review_i12.test_findings import SECRETS, as_user, with_key

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_F4_real_race_editor_overwrites_a_secret_an_admin_is_moving_to_production(admin_user):
    editor = User.objects.create_user("ed", "", "x")
    add_grant(admin_user, editor, "development", "editor")
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD", value="old",
                           profile="development")
    client = as_user(editor)
    moving, release = threading.Event(), threading.Event()

    def admin_moves():  # an admin's move, in flight: it holds the chain lock, then commits
        try:
            with transaction.atomic():
                log.lock_chain()
                Secret.objects.filter(pk=secret.pk).update(profile="production")
                moving.set()
                release.wait(10)
        finally:
            connection.close()

    def editor_patches():
        try:
            return client.patch(f"{SECRETS}{secret.pk}/", {"value": "EDITOR-WROTE-THIS"},
                                format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        admin = pool.submit(admin_moves)
        moving.wait(10)
        editor = pool.submit(editor_patches)
        time.sleep(1.0)  # the editor's check passed (development, committed); it now waits
        release.set()
        admin.result()
        status = editor.result()
    stored = Secret.objects.get(pk=secret.pk)
    assert stored.profile == "production"
    assert stored.value.reveal() == "old", f"editor of development wrote a production " \
                                           f"secret (status {status})"


def test_service_token_budget_under_parallel_requests(admin_user, settings):
    settings.SECRETS_SERVICE_TOKEN_RATE = "30/m"
    create_secret(admin_user, name="k", key="API_KEY", value="v", profile="development")
    _, key = create_service_token(admin_user, name="p", profiles=["development"])

    def one(_):
        try:
            return with_key(key).get(SECRETS).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(60)))
    assert codes.count(200) == 30 and codes.count(429) == 30, codes
