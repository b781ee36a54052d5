"""Credential loaders and the resolver (R5, R7.3, R15)."""

import io
import os
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from secrets_app.formats.yaml import parse_yaml
from secrets_app.services.secrets import SSHTunnelData, create_secret, update_secret
from secrets_app.sources import config_file
from secrets_app.sources.chain import locate, resolve, resolve_ssh_tunnel
from secrets_app.sources.config_file import ConfigFileLoader
from secrets_app.sources.database import DatabaseLoader
from secrets_app.sources.environment import EnvironmentLoader

pytestmark = pytest.mark.django_db


def write(path, text):
    path.write_text(text)
    # A different mtime even on coarse clocks, as a later edit would have.
    stamp = time.time() + (os.stat(path).st_mtime_ns % 7) + 2
    os.utime(path, (stamp, stamp))


class TestEnvironment:
    def test_R5_1_reads_the_environment_for_every_profile(self):
        loader = EnvironmentLoader({"API_TOKEN": "from-env"})
        assert loader.get("API_TOKEN", "production").reveal() == "from-env"
        assert loader.contains("API_TOKEN")
        assert loader.get("MISSING") is None

    @pytest.mark.parametrize("name", ["SECRETS_ENCRYPTION_KEY", "SECRETS_ENCRYPTION_KEYS",
                                      "DJANGO_SECRET_KEY", "KOZMO_TOKEN", "DATABASE_URL",
                                      "REDIS_URL", "secrets_encryption_key"])
    def test_R17_1_never_serves_the_servers_own_configuration(self, name):
        loader = EnvironmentLoader({name: "server-only"})
        assert not loader.contains(name)
        assert loader.get(name, "production") is None

    def test_R17_1_resolve_credential_cannot_reveal_the_servers_key(self, admin_user,
                                                                   monkeypatch):
        """The command line's --reveal reaches the environment source; the key is not there."""
        monkeypatch.setenv("SECRETS_ENCRYPTION_KEY", "k" * 44)
        monkeypatch.setenv("SOME_APP_TOKEN", "app")
        out = io.StringIO()
        call_command("resolve_credential", "SOME_APP_TOKEN", "--reveal", stdout=out)
        assert out.getvalue().strip() == "app"  # the environment source itself works
        with pytest.raises(CommandError) as error:
            call_command("resolve_credential", "SECRETS_ENCRYPTION_KEY", "--reveal",
                         stdout=io.StringIO())
        assert "not found" in str(error.value)


class TestConfigFile:
    def test_R5_5_profile_sections_and_fallback_to_default(self, tmp_path):
        path = tmp_path / "secrets.yaml"
        write(path, "default:\n  A_KEY: a-default\n  B_KEY: b-default\n"
                    "production:\n  A_KEY: a-prod\n")
        loader = ConfigFileLoader(str(path))
        assert loader.get("A_KEY", "production").reveal() == "a-prod"
        assert loader.get("B_KEY", "production").reveal() == "b-default"
        assert loader.get("A_KEY", "staging").reveal() == "a-default"
        assert loader.get("C_KEY", "production") is None

    def test_R5_5_a_flat_file_is_the_default_profile(self, tmp_path):
        path = tmp_path / "flat.yaml"
        write(path, "A_KEY: 5432\nB_KEY: text\n")
        loader = ConfigFileLoader(str(path))
        assert loader.get("A_KEY").reveal() == "5432"
        assert loader.get("B_KEY", "staging").reveal() == "text"

    def test_R5_2_reloaded_when_the_file_changes_not_on_every_call(
        self, tmp_path, monkeypatch
    ):
        path = tmp_path / "secrets.yaml"
        write(path, "default:\n  A_KEY: one\n")
        parses = []
        monkeypatch.setattr(
            "secrets_app.sources.config_file.parse_yaml",
            lambda text, profile: parses.append(1) or parse_yaml(text, profile),
        )
        loader = ConfigFileLoader(str(path))
        for _ in range(5):
            assert loader.get("A_KEY").reveal() == "one"
        assert len(parses) == 1
        write(path, "default:\n  A_KEY: two\n")
        assert loader.get("A_KEY").reveal() == "two"
        assert len(parses) == 2

    def test_a_missing_or_broken_file_holds_nothing(self, tmp_path, caplog):
        assert ConfigFileLoader(str(tmp_path / "absent.yaml")).get("A_KEY") is None
        broken = tmp_path / "broken.yaml"
        write(broken, "- not\n- a mapping\n")
        assert ConfigFileLoader(str(broken)).get("A_KEY") is None
        assert "cannot be read" in caplog.text

    def test_the_path_comes_from_settings(self, tmp_path, settings):
        path = tmp_path / "secrets.yaml"
        write(path, "A_KEY: from-settings\n")
        settings.SECRETS_CONFIG_FILE = str(path)
        assert config_file.ConfigFileLoader().get("A_KEY").reveal() == "from-settings"


class TestDatabase:
    def test_R5_4_the_secret_named_like_its_key_wins(self, admin_user):
        create_secret(admin_user, name="Warehouse", key="POSTGRES_PASSWORD", value="other")
        create_secret(admin_user, name="POSTGRES_PASSWORD", key="POSTGRES_PASSWORD", value="main")
        assert DatabaseLoader().get("POSTGRES_PASSWORD").reveal() == "main"

    def test_otherwise_the_most_recently_changed(self, admin_user):
        older = create_secret(admin_user, name="one", key="API_TOKEN", value="old")
        create_secret(admin_user, name="two", key="API_TOKEN", value="new")
        assert DatabaseLoader().get("API_TOKEN").reveal() == "new"
        update_secret(older, admin_user, value="newest")
        assert DatabaseLoader().get("API_TOKEN").reveal() == "newest"

    def test_R5_5_profile_then_default(self, admin_user):
        create_secret(admin_user, name="A_KEY", key="A_KEY", value="default-value")
        assert DatabaseLoader().get("A_KEY", "staging").reveal() == "default-value"
        create_secret(admin_user, name="A_KEY", key="A_KEY", value="staging-value",
                      profile="staging")
        assert DatabaseLoader().get("A_KEY", "staging").reveal() == "staging-value"


    def test_R20_equal_candidates_are_taken_in_name_order(self):
        # Neither named like the key, changed at the same instant: the first name wins, on
        # every database, whatever order the rows come back in.
        from datetime import UTC, datetime

        from secrets_app.fields import Sealed
        from secrets_app.models import Secret
        from secrets_app.sources.database import secrets_for_keys

        now = datetime(2026, 1, 1, tzinfo=UTC)
        Secret.objects.bulk_create([
            Secret(name=name, key="API_TOKEN", value=Sealed("token"), updated_at=now)
            for name in ("zeta", "alpha", "mid")])
        assert secrets_for_keys(["API_TOKEN"], "production")["API_TOKEN"].name == "alpha"
        assert secrets_for_keys(None, "production")["API_TOKEN"].name == "alpha"

    def test_R20_many_keys_are_read_through_the_key_index_on_sqlite(self):
        # Once ANALYZE has seen many secrets share a few keys, SQLite preferred walking a
        # whole index (name, or profile) to reading the asked keys from (key, profile): a
        # credentials request for 50 keys read every row (36 ms at 100k rows, not 1 ms).
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from secrets_app.fields import Sealed
        from secrets_app.models import Secret
        from secrets_app.sources.database import secrets_for_keys

        if connection.vendor != "sqlite":
            pytest.skip("SQLite's planner")
        Secret.objects.bulk_create([
            Secret(name=f"svc-{n:05}", key=("A_KEY", "B_KEY", "C_KEY")[n % 3],
                   value=Sealed("token"), profile=("default", "production")[n % 2])
            for n in range(2000)])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        with CaptureQueriesContext(connection) as queries:
            secrets_for_keys(["WANTED_KEY", "OTHER_KEY"], "production")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {queries.captured_queries[-1]['sql']}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "secret_key_profile" in plan, plan


class TestResolver:
    def test_R5_4_order_and_source(self, admin_user, tmp_path, settings, monkeypatch):
        path = tmp_path / "secrets.yaml"
        write(path, "A_KEY: from-file\nB_KEY: from-file\nC_KEY: from-file\n")
        settings.SECRETS_CONFIG_FILE = str(path)
        monkeypatch.setenv("A_KEY", "from-env")
        monkeypatch.setenv("B_KEY", "from-env")
        create_secret(admin_user, name="A_KEY", key="A_KEY", value="from-db")
        answers = {key: resolve(key) for key in ("A_KEY", "B_KEY", "C_KEY", "D_KEY")}
        assert answers["A_KEY"].source == "database"
        assert answers["A_KEY"].value.reveal() == "from-db"
        assert answers["B_KEY"].source == "environment"
        assert answers["C_KEY"].source == "config_file"
        assert answers["D_KEY"].source is None and not answers["D_KEY"].found
        assert [locate(key) for key in answers] == [
            "database", "environment", "config_file", None,
        ]

    def test_a_resolution_never_prints_its_value(self, monkeypatch):
        monkeypatch.setenv("A_KEY", "PRINT-CANARY")
        resolution = resolve("A_KEY")
        assert "PRINT-CANARY" not in repr(resolution) + str(resolution)

    @pytest.mark.parametrize("key", ["lower", "1ABC", "A-B", ""])
    def test_bad_key_names_are_refused(self, key):
        with pytest.raises(ValueError, match="UPPER_SNAKE"):
            resolve(key)

    def test_unknown_profiles_are_refused(self):
        with pytest.raises(ValueError, match="unknown profile"):
            resolve("A_KEY", "qa")


class TestSSHTunnel:
    def test_R7_3_a_stored_tunnel_for_the_profile(self, admin_user):
        create_secret(
            admin_user, name="bastion", key="SSH_PRIVATE_KEY", value="", profile="production",
            ssh=SSHTunnelData(host="bastion.prod", port=2222, username="deploy",
                              password="pw", private_key="KEY"),
        )
        tunnel = resolve_ssh_tunnel("production")
        assert tunnel.revealed() == {
            "host": "bastion.prod", "port": 2222, "username": "deploy",
            "password": "pw", "private_key": "KEY",
        }
        assert (tunnel.source, tunnel.secret_name) == ("database", "bastion")
        assert "pw" not in repr(tunnel)

    def test_R7_3_a_tunnel_put_together_from_ssh_keys(self, monkeypatch):
        monkeypatch.setenv("SSH_HOST", "jump.example.com")
        monkeypatch.setenv("SSH_USERNAME", "ops")
        monkeypatch.setenv("SSH_PRIVATE_KEY", "PEM")
        tunnel = resolve_ssh_tunnel("staging")
        assert tunnel.revealed() == {
            "host": "jump.example.com", "port": 22, "username": "ops",
            "password": None, "private_key": "PEM",
        }
        assert tunnel.source == "keys"

    def test_no_ssh_host_means_no_tunnel(self):
        assert resolve_ssh_tunnel("staging") is None
