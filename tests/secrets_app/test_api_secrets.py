"""The secrets API (R8, R3, R4.1, R7.3, R13)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit_app.models import AuditLog
from secrets_app.models import Secret
from secrets_app.services.secrets import SSHTunnelData, create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/secrets/"
UNKNOWN_ID = "3f0c8a52-6d1e-4b7a-9c2f-5e8d1a4b7c90"  # well-formed; no secret has it


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD",
                         value="API-CANARY", profile="production", description="dw")


class TestRead:
    def test_R8_1_list_is_paginated_and_masked(self, member_api, secret):
        response = member_api.get(URL)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        (item,) = body["results"]
        assert item["value"] == "********"
        assert item["name"] == "warehouse" and item["category"] == "Database"
        assert item["created_by"] == "root"
        assert "API-CANARY" not in response.content.decode()

    def test_R8_2_retrieve(self, member_api, secret):
        response = member_api.get(f"{URL}{secret.pk}/")
        assert response.status_code == 200
        assert response.json()["id"] == str(secret.pk)
        assert response.json()["value"] == "********"

    @pytest.mark.parametrize("path", ["{pk}", "{pk}/"])
    def test_R8_trailing_slash_is_optional(self, member_api, secret, path):
        assert member_api.get(URL.rstrip("/")).status_code == 200
        assert member_api.get(f"{URL}{path.format(pk=secret.pk)}").status_code == 200

    # A fixed, well-formed id that no secret has: a random one would give the test a new id
    # on every collection, and pytest-xdist's workers would not agree on the test list.
    @pytest.mark.parametrize("bad", [UNKNOWN_ID, "not-a-uuid", "1", "%00"])
    def test_R8_unknown_or_malformed_id_is_404_secret_not_found(self, member_api, bad):
        response = member_api.get(f"{URL}{bad}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Secret not found"}

    @pytest.mark.parametrize("debug", [False, True])
    def test_R8_unknown_api_route_is_json_404(self, member_api, settings, debug):
        settings.DEBUG = debug  # make run serves with DEBUG on: JSON there too
        for path in ("/api/v1/nothing-here/", "/api/nothing", "/api/v1/secrets/a/b/c/"):
            response = member_api.get(path)
            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"
            assert response.json() == {"detail": "Not found."}

    def test_R8_wrong_method_is_json_405(self, admin_api, secret):
        response = admin_api.post(f"{URL}{secret.pk}/versions/")
        assert response.status_code == 405
        assert "detail" in response.json()

    def test_R8_anonymous_is_401_not_authenticated(self, api, secret):
        response = api.get(URL)
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert response["WWW-Authenticate"].startswith("Token")

    def test_list_queries_do_not_grow_with_the_table(self, admin_api, admin_user):
        for number in range(3):
            create_secret(admin_user, name=f"a{number}", key="SSH_HOST", value="v",
                          ssh=SSHTunnelData(host="h", username="u"))

        def count():
            with CaptureQueriesContext(connection) as queries:
                assert admin_api.get(URL).status_code == 200
            return len(queries)

        few = count()
        for number in range(60):
            create_secret(admin_user, name=f"b{number}", key="SSH_HOST", value="v",
                          ssh=SSHTunnelData(host="h", username="u", password="p"))
        assert count() == few


class TestFilters:
    @pytest.fixture
    def many(self, admin_user):
        create_secret(admin_user, name="Warehouse DB", key="POSTGRES_PASSWORD", value="v",
                      profile="production")
        create_secret(admin_user, name="aws-main", key="AWS_ACCESS_KEY_ID", value="v")
        create_secret(admin_user, name="aws-main", key="AWS_ACCESS_KEY_ID", value="v",
                      profile="staging")
        create_secret(admin_user, name="openai", key="OPENAI_API_KEY", value="v")

    def names(self, response):
        assert response.status_code == 200, response.json()
        return [(r["name"], r["profile"]) for r in response.json()["results"]]

    def test_R4_3_search_matches_name_or_key_case_insensitively(self, member_api, many):
        assert self.names(member_api.get(URL, {"search": "warehouse"})) == [
            ("Warehouse DB", "production")]
        assert self.names(member_api.get(URL, {"search": "api_key"})) == [
            ("openai", "default")]

    def test_R4_4_R4_5_filters_combine(self, member_api, many):
        assert self.names(member_api.get(URL, {"category": "AWS", "profile": "staging"})) == [
            ("aws-main", "staging")]
        assert self.names(member_api.get(URL, {"category": "AWS", "search": "zzz"})) == []

    def test_bad_filter_values_are_400_with_the_reason(self, member_api, many):
        response = member_api.get(URL, {"category": "Nope"})
        assert response.status_code == 400
        assert "category" in response.json()

    def test_ordering(self, member_api, many):
        names = self.names(member_api.get(URL, {"ordering": "-name"}))
        assert names[0][0] == "openai"

    def test_page_size(self, member_api, many):
        body = member_api.get(URL, {"page_size": 2}).json()
        assert len(body["results"]) == 2 and body["count"] == 4 and body["next"]


class TestWrite:
    def test_R8_3_create_is_201_and_audited(self, admin_api):
        response = admin_api.post(URL, {"name": "n", "key": "API_TOKEN", "value": "v1"},
                                  format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["value"] == "********"
        assert response.json()["profile"] == "default"
        assert response.json()["category"] == "Custom"
        entry = AuditLog.objects.get()
        assert (entry.action, entry.channel) == ("CREATE", "api")

    def test_R3_1_duplicate_is_400(self, admin_api, secret):
        response = admin_api.post(URL, {"name": "warehouse", "key": "K", "value": "v",
                                        "profile": "production"}, format="json")
        assert response.status_code == 400
        assert response.json()["detail"] == "Secret with this name already exists"
        assert response.json()["name"] == ["Secret with this name already exists"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "n", "key": "bad key", "value": "v"}, "key"),
            ({"name": "n", "key": "K"}, "value"),
            ({"name": "n", "key": "K", "value": "v", "category": "Nope"}, "category"),
            ({"name": "n", "key": "K", "value": "v", "profile": "qa"}, "profile"),
            ({"name": "n", "key": "K", "value": 5}, None),
            ({"name": "\x07bell", "key": "K", "value": "v"}, "name"),
        ],
    )
    def test_bad_input_is_400_naming_the_field(self, admin_api, body, field):
        response = admin_api.post(URL, body, format="json")
        if field is None:  # DRF accepts a number as text: stored as "5"
            assert response.status_code == 201
            return
        assert response.status_code == 400, response.json()
        assert field in response.json()
        assert not Secret.objects.exists()

    def test_R8_4_put_and_patch_omitting_value_keeps_it(self, admin_api, secret):
        response = admin_api.patch(f"{URL}{secret.pk}", {"description": "new"}, format="json")
        assert response.status_code == 200, response.json()
        response = admin_api.put(f"{URL}{secret.pk}/", {
            "name": "warehouse", "key": "POSTGRES_PASSWORD", "profile": "production",
        }, format="json")
        assert response.status_code == 200, response.json()
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "API-CANARY"
        assert stored.description == "new"

    def test_R8_4_a_new_value_is_re_encrypted(self, admin_api, secret):
        admin_api.patch(f"{URL}{secret.pk}/", {"value": "v2"}, format="json")
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "v2"

    def test_R8_5_delete_is_204(self, admin_api, secret):
        assert admin_api.delete(f"{URL}{secret.pk}/").status_code == 204
        assert not Secret.objects.exists()

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_R3_6_non_admins_get_403_and_nothing_changes(self, member_api, secret, method):
        url = URL if method == "post" else f"{URL}{secret.pk}/"
        body = {"name": "x", "key": "K", "value": "hacked"}
        response = getattr(member_api, method)(url, body, format="json")
        assert response.status_code == 403
        assert response.json() == {"detail": "Admin privileges required"}
        stored = Secret.objects.get()
        assert (stored.name, stored.value.reveal()) == ("warehouse", "API-CANARY")

    def test_R7_ssh_tunnel_round_trip(self, admin_api):
        response = admin_api.post(URL, {
            "name": "bastion", "key": "SSH_PRIVATE_KEY", "value": "",
            "ssh": {"host": "jump", "port": 2200, "username": "ops", "password": "TUN-PW"},
        }, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["category"] == "SSH"
        assert response.json()["ssh_tunnel"] == {
            "host": "jump", "port": 2200, "username": "ops",
            "has_password": True, "has_private_key": False,
        }
        assert "TUN-PW" not in response.content.decode()


class TestDecrypt:
    def test_R8_6_admins_get_the_value_with_no_store(self, admin_api, secret):
        response = admin_api.post(f"{URL}{secret.pk}/decrypt/")
        assert response.status_code == 200
        assert response.json()["value"] == "API-CANARY"
        assert response["Cache-Control"] == "no-store"
        assert AuditLog.objects.filter(action="DECRYPT", allowed=True).count() == 1

    def test_R8_6_the_whole_answer_of_a_secret_without_a_tunnel(self, admin_api, secret):
        body = admin_api.post(f"{URL}{secret.pk}/decrypt/").json()
        assert body == {"id": str(secret.pk), "name": "warehouse", "key": "POSTGRES_PASSWORD",
                        "profile": "production", "value": "API-CANARY"}  # no ssh_tunnel key

    def test_R2_2_others_get_403_and_it_is_audited(self, member_api, secret):
        response = member_api.post(f"{URL}{secret.pk}/decrypt")
        assert response.status_code == 403
        assert response.json() == {"detail": "Admin privileges required"}
        assert "API-CANARY" not in response.content.decode()
        entry = AuditLog.objects.get(action="DECRYPT")
        assert (entry.allowed, entry.username, entry.channel) == (False, "bob", "api")

    def test_R7_3_ssh_secrets_answer_with_their_tunnel(self, admin_api, admin_user):
        secret = create_secret(admin_user, name="b", key="SSH_HOST", value="jump",
                               ssh=SSHTunnelData(host="jump", username="u", private_key="PEM"))
        body = admin_api.post(f"{URL}{secret.pk}/decrypt/").json()
        assert body["ssh_tunnel"] == {"host": "jump", "port": 22, "username": "u",
                                      "password": None, "private_key": "PEM"}

    def test_R8_an_unknown_key_is_500_failed_to_decrypt_and_audited(
        self, admin_api, secret, use_keys
    ):
        use_keys("some-other-key-0123456789-0123456789-01")
        response = admin_api.post(f"{URL}{secret.pk}/decrypt/")
        assert response.status_code == 500
        assert response.json() == {"detail": "Failed to decrypt secret"}
        assert "gAAAAA" not in response.content.decode()
        assert AuditLog.objects.filter(action="DECRYPT", detail__outcome="failed").exists()

    def test_R7_3_ssh_tunnel_endpoint(self, admin_api, member_api, admin_user):
        create_secret(admin_user, name="b", key="SSH_HOST", value="", profile="staging",
                      ssh=SSHTunnelData(host="jump", username="u", password="pw"))
        response = admin_api.post(f"{URL}ssh-tunnel/", {"profile": "staging"}, format="json")
        assert response.status_code == 200
        assert response.json()["password"] == "pw"
        assert response["Cache-Control"] == "no-store"
        assert member_api.post(f"{URL}ssh-tunnel/", {"profile": "staging"},
                               format="json").status_code == 403
        assert admin_api.post(f"{URL}ssh-tunnel/", {"profile": "production"},
                              format="json").status_code == 404


class TestProfilesImportVersions:
    def test_R8_7_profiles_with_counts(self, member_api, secret):
        response = member_api.get(f"{URL}profiles/")
        assert response.json() == [
            {"profile": "default", "count": 0}, {"profile": "development", "count": 0},
            {"profile": "staging", "count": 0}, {"profile": "production", "count": 1},
        ]

    def test_R8_8_import_a_multipart_file(self, admin_api):
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("io_config.yaml", b"default:\n  API_TOKEN: abc\n  NUL:\n")
        response = admin_api.post(f"{URL}import/", {"file": upload}, format="multipart")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["created"], body["skipped"], body["failed"]) == (1, 1, 0)

    def test_R8_8_import_a_raw_yaml_body(self, admin_api):
        response = admin_api.generic("POST", f"{URL}import?profile=staging",
                                     b"API_TOKEN: abc\n", content_type="application/yaml")
        assert response.status_code == 200, response.json()
        assert Secret.objects.get().profile == "staging"

    def test_R8_8_invalid_yaml_is_400_with_the_reason(self, admin_api):
        response = admin_api.generic("POST", f"{URL}import/", b"- a\n- b\n",
                                     content_type="application/yaml")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("Invalid YAML structure: the top level")

    def test_R8_8_import_is_for_admins(self, member_api):
        response = member_api.generic("POST", f"{URL}import/", b"A_KEY: v\n",
                                      content_type="application/yaml")
        assert response.status_code == 403
        assert not Secret.objects.exists()

    def test_R13_versions_and_restore(self, admin_api, member_api, secret):
        admin_api.patch(f"{URL}{secret.pk}/", {"value": "v2"}, format="json")
        versions = admin_api.get(f"{URL}{secret.pk}/versions").json()
        assert [v["number"] for v in versions] == [2, 1]
        assert {v["value"] for v in versions} == {"********"}
        assert member_api.get(f"{URL}{secret.pk}/versions/").status_code == 403
        response = admin_api.post(f"{URL}{secret.pk}/versions/1/restore")
        assert response.status_code == 200, response.json()
        assert Secret.objects.get(pk=secret.pk).value.reveal() == "API-CANARY"
        assert admin_api.post(f"{URL}{secret.pk}/versions/9/restore/").status_code == 404


class TestReviewedEdges:
    def test_a_get_then_put_round_trip_keeps_the_value(self, admin_api, secret):
        body = admin_api.get(f"{URL}{secret.pk}/").json()
        body["description"] = "edited"
        body.pop("ssh_tunnel")
        response = admin_api.put(f"{URL}{secret.pk}/", body, format="json")
        assert response.status_code == 200, response.json()
        assert admin_api.patch(f"{URL}{secret.pk}/", {"value": ""},
                               format="json").status_code == 200
        stored = Secret.objects.get(pk=secret.pk)
        assert stored.value.reveal() == "API-CANARY"
        assert stored.description == "edited"
        assert stored.versions.count() == 1

    def test_creating_with_the_mask_as_value_is_refused(self, admin_api):
        response = admin_api.post(URL, {"name": "n", "key": "K", "value": "********"},
                                  format="json")
        assert response.status_code == 400
        assert "mask" in response.json()["value"][0]

    @pytest.mark.parametrize("path", ["/api/v1/secrets/", "/api/v1/tokens/",
                                      "/api/v1/secrets/ssh-tunnel/"])
    def test_deeply_nested_json_is_400(self, admin_api, path):
        response = admin_api.generic("POST", path, "[" * 5000 + "]" * 5000,
                                     content_type="application/json")
        assert response.status_code == 400
        assert "nested too deeply" in response.json()["detail"]

    def test_ssh_tunnel_checks_who_asks_before_reading_anything(
        self, member_api, admin_api, admin_user
    ):
        create_secret(admin_user, name="SSH_HOST", key="SSH_HOST", value="jump",
                      profile="staging")
        create_secret(admin_user, name="SSH_PORT", key="SSH_PORT", value="PORT-CANARY",
                      profile="staging")
        url = f"{URL}ssh-tunnel/"
        assert member_api.post(url, {"profile": "bogus"}, format="json").status_code == 403
        assert member_api.post(url, {"profile": "staging"}, format="json").status_code == 403
        response = admin_api.post(url, {"profile": "staging"}, format="json")
        assert response.status_code == 400
        assert "PORT-CANARY" not in response.content.decode()
        assert admin_api.post(url, {"profile": "qa"}, format="json").status_code == 400

    def test_a_missing_tunnel_is_404_and_audited(self, admin_api):
        response = admin_api.post(f"{URL}ssh-tunnel/", {"profile": "staging"}, format="json")
        assert response.status_code == 404
        entry = AuditLog.objects.get(action="DECRYPT")
        assert entry.detail["outcome"] == "no tunnel"

    def test_a_tunnel_that_cannot_be_opened_is_audited_as_failed_only(
        self, admin_api, admin_user, use_keys
    ):
        from secrets_app.crypto import configured_keys
        from secrets_app.fields import Sealed
        from secrets_app.models import SSHTunnel

        secret = create_secret(admin_user, name="b", key="SSH_HOST", value="v",
                               ssh=SSHTunnelData(host="h", username="u"))
        keys = configured_keys()[0]
        use_keys("another-key-for-the-tunnel-0123456789-0")
        SSHTunnel.objects.filter(secret=secret).update(password=Sealed.encrypt("pw").token)
        use_keys(*keys)
        response = admin_api.post(f"{URL}{secret.pk}/decrypt/")
        assert response.status_code == 500
        rows = list(AuditLog.objects.filter(action="DECRYPT"))
        assert [(r.allowed, r.detail.get("outcome")) for r in rows] == [(True, "failed")]

    def test_an_import_without_a_file_says_how_to_send_one(self, admin_api):
        response = admin_api.post(f"{URL}import/", {}, format="multipart")
        assert response.status_code == 400
        assert "multipart field" in response.json()["file"][0]


class TestCachedCounts:
    def test_the_count_follows_every_change(self, admin_api, admin_user):
        def count(**params):
            return admin_api.get(URL, params).json()["count"]

        assert count() == 0
        first = create_secret(admin_user, name="a", key="K", value="v")
        assert count() == 1 and count(search="a") == 1
        admin_api.post(URL, {"name": "b", "key": "K", "value": "v"}, format="json")
        assert count() == 2
        from secrets_app.services.bulk import import_file

        import_file(b"default:\n  C_KEY: c\n  D_KEY: d\n", user=admin_user)
        assert count() == 4
        admin_api.delete(f"{URL}{first.pk}/")
        assert count() == 3 and count(search="a") == 0
