"""The one access rule (R18, R19): access/policy.py, as the services see it."""

from fnmatch import fnmatchcase

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import override_settings

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant, find_subject, remove_grant
from secrets_app.access.models import ProfileGrant
from secrets_app.access.permissions import AdminRequired
from secrets_app.access.policy import access_of, require_write
from secrets_app.access.service_tokens import (
    ServicePrincipal,
    ServiceTokenThrottled,
    WrongNetwork,
    charge_request,
    check_network,
    create_service_token,
)
from secrets_app.models import Secret
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import create_secret, listed_to, update_secret


@pytest.fixture
def reader(db):
    return User.objects.create_user("rita", None, "rita-password")


def test_R18_a_plain_user_reads_and_writes_nothing(member):
    access = access_of(member)
    assert not access.reads("development") and not access.writes("development")
    assert not access.writes_anywhere and not access.reads_anywhere


def test_R18_reader_and_editor_roles(admin_user, reader):
    add_grant(admin_user, reader, "development", "reader")
    add_grant(admin_user, reader, "staging", "editor")
    access = access_of(reader)
    assert access.reads("development", "API_KEY") and not access.writes("development")
    assert access.reads("staging") and access.writes("staging")
    assert not access.reads("production") and not access.writes("production")


def test_R18_a_group_grant_and_a_user_grant_give_the_larger_role(admin_user, reader):
    team = Group.objects.create(name="data-eng")
    reader.groups.add(team)
    add_grant(admin_user, reader, "development", "reader")
    add_grant(admin_user, team, "development", "editor")
    assert access_of(reader).writes("development")


def test_R18_granting_another_role_replaces_it_and_audits_both(admin_user, reader):
    grant, changed = add_grant(admin_user, reader, "development", "reader")
    assert changed
    again, changed = add_grant(admin_user, reader, "development", "reader")
    assert (again.pk, changed) == (grant.pk, False)
    upgraded, changed = add_grant(admin_user, reader, "development", "editor")
    assert changed and upgraded.pk == grant.pk and ProfileGrant.objects.count() == 1
    rows = list(AuditLog.objects.filter(action="GRANT_ADD").order_by("sequence"))
    assert [row.detail.get("replaced") for row in rows] == [None, "reader"]
    assert rows[-1].detail["user"] == "rita" and rows[-1].username == "root"
    assert remove_grant(admin_user, upgraded) and not remove_grant(admin_user, upgraded)
    assert AuditLog.objects.filter(action="GRANT_REMOVE").count() == 1
    assert not access_of(reader).reads("development")


@pytest.mark.parametrize("profile, role, field", [
    ("nowhere", "reader", "profile"), ("development", "owner", "role"),
])
def test_R18_bad_grants_say_what_to_fix(admin_user, reader, profile, role, field):
    with pytest.raises(ValidationError) as error:
        add_grant(admin_user, reader, profile, role)
    assert field in error.value.message_dict
    assert not ProfileGrant.objects.exists()


def test_R18_find_subject_names_what_is_missing(db):
    with pytest.raises(ValidationError, match="No user named 'nobody'"):
        find_subject(user="nobody")
    with pytest.raises(ValidationError, match="one of them"):
        find_subject(user="a", group="b")


def test_R18_an_editor_writes_in_their_profile_only(admin_user, reader):
    add_grant(admin_user, reader, "development", "editor")
    secret = create_secret(reader, name="dev db", key="POSTGRES_PASSWORD", value="v1",
                           profile="development")
    assert secret.created_by == reader
    with pytest.raises(AdminRequired):
        create_secret(reader, name="prod db", key="POSTGRES_PASSWORD", value="v",
                      profile="production")
    with pytest.raises(AdminRequired):  # moving it out of their profile
        update_secret(secret, reader, profile="production")
    secret.refresh_from_db()
    assert secret.profile == "development"
    denied = AuditLog.objects.filter(action="DENIED").order_by("sequence")
    assert [(row.secret_profile, row.detail["attempted"], row.allowed) for row in denied] == [
        ("production", "create", False), ("production", "update", False)]


def test_R18_a_reader_decrypts_in_their_profile_only(admin_user, reader):
    add_grant(admin_user, reader, "development", "reader")
    dev = create_secret(admin_user, name="d", key="API_KEY", value="dev-value",
                        profile="development")
    prod = create_secret(admin_user, name="p", key="API_KEY", value="prod-value",
                         profile="production")
    assert decrypt_secret(dev, reader) == "dev-value"
    with pytest.raises(AdminRequired):
        decrypt_secret(prod, reader)
    row = AuditLog.objects.filter(action="DECRYPT", allowed=False).get()
    assert row.detail == {"reason": "no reader grant on production"}
    with pytest.raises(AdminRequired):
        require_write(reader, "development", "create")


# --- service tokens ----------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["POSTGRES_*", "AWS_?_KEY", "*", "API_KEY", "*_HOST"])
@pytest.mark.parametrize("key", ["POSTGRES_PASSWORD", "AWS_A_KEY", "API_KEY", "SSH_HOST",
                                 "POSTGRES", "AWS_AB_KEY"])
def test_R19_key_patterns_match_alike_in_python_and_in_the_database(admin_user, pattern, key):
    create_secret(admin_user, name=key, key=key, value="v", profile="production")
    token, _ = create_service_token(admin_user, name="etl", profiles=["production"],
                                    keys=[pattern])
    principal = ServicePrincipal(token)
    listed = listed_to(principal, Secret.objects.all()).filter(key=key).exists()
    assert listed == fnmatchcase(key, pattern) == access_of(principal).reads("production", key)


def test_R19_a_token_reads_only_its_scope_and_writes_nothing(admin_user):
    dev = create_secret(admin_user, name="d", key="POSTGRES_PASSWORD", value="dev-value",
                        profile="development")
    other = create_secret(admin_user, name="k", key="API_KEY", value="k", profile="development")
    token, _ = create_service_token(admin_user, name="etl", profiles=["development"],
                                    keys=["POSTGRES_*"])
    principal = ServicePrincipal(token)
    assert decrypt_secret(dev, principal) == "dev-value"
    with pytest.raises(AdminRequired):
        decrypt_secret(other, principal)
    with pytest.raises(AdminRequired):
        create_secret(principal, name="x", key="X", value="x", profile="development")
    assert not access_of(principal).writes_anywhere
    rows = list(AuditLog.objects.filter(action="DECRYPT").order_by("sequence"))
    assert [(r.allowed, r.username, r.detail["service_token"]) for r in rows] == [
        (True, "root", "etl"), (False, "root", "etl")]
    assert all(r.detail["token"] == token.prefix for r in rows)


@pytest.mark.parametrize("networks, address, allowed", [
    (["10.0.0.0/8"], "10.1.2.3", True),
    (["10.0.0.0/8"], "192.168.1.1", False),
    (["10.0.0.0/8"], "::ffff:10.1.2.3", True),
    (["10.0.0.0/8"], None, False),
    (["2001:db8::/32"], "2001:db8::1", True),
    ([], "203.0.113.9", True),
])
def test_R19_networks(admin_user, networks, address, allowed):
    token, _ = create_service_token(admin_user, name="etl", profiles=["development"],
                                    allowed_networks=networks)
    if allowed:
        check_network(token, address)
    else:
        with pytest.raises(WrongNetwork):
            check_network(token, address)


@pytest.mark.parametrize("field, value", [
    ("profiles", []), ("profiles", "production"), ("profiles", ["prod"]),
    ("keys", ["postgres_*"]), ("keys", ["A;B"]), ("keys", "POSTGRES_*"),
    ("allowed_networks", ["10.0.0.0/33"]), ("allowed_networks", ["intranet"]),
    ("expires_in_days", 0), ("expires_in_days", 4000), ("name", " "),
])
def test_R19_bad_service_tokens_say_what_to_fix(admin_user, field, value):
    fields = {"name": "etl", "profiles": ["production"], field: value}
    with pytest.raises(ValidationError) as error:
        create_service_token(admin_user, **fields)
    assert {"keys": "keys"}.get(field, field) in error.value.message_dict
    assert not AuditLog.objects.filter(action="SERVICE_TOKEN_CREATE").exists()


def test_R19_the_budget_is_per_token(admin_user):
    first, _ = create_service_token(admin_user, name="a", profiles=["development"])
    second, _ = create_service_token(admin_user, name="b", profiles=["development"])
    with override_settings(SECRETS_SERVICE_TOKEN_RATE="3/m"):
        for _ in range(3):
            charge_request(first)
        with pytest.raises(ServiceTokenThrottled) as refused:
            charge_request(first)
        assert refused.value.retry_after >= 1
        charge_request(second)


def test_R18_an_ssh_tunnel_from_default_needs_a_grant_on_default(admin_user, reader):
    """A production tunnel that falls back to `default`'s (R5.5) is `default`'s to give."""
    from secrets_app.services.reveal import reveal_ssh_tunnel
    from secrets_app.services.secrets import SSHTunnelData

    create_secret(admin_user, name="bastion", key="SSH_HOST", value="pw", category="SSH",
                  profile="default", ssh=SSHTunnelData(host="bastion.example", port=22,
                                                       username="etl", password="pw"))
    add_grant(admin_user, reader, "production", "reader")
    token, _ = create_service_token(admin_user, name="etl", profiles=["production"])
    for caller in (reader, ServicePrincipal(token)):
        with pytest.raises(AdminRequired):
            reveal_ssh_tunnel(caller, "production")
    refused = AuditLog.objects.filter(action="DECRYPT", allowed=False).order_by("sequence")
    assert [row.detail["reason"] for row in refused] == [
        "no reader grant on default", "outside the service token's scope"]
    add_grant(admin_user, reader, "default", "reader")
    assert reveal_ssh_tunnel(reader, "production")["host"] == "bastion.example"


def test_R19_a_refused_request_is_not_the_tokens_last_use(admin_user, api):
    token, key = create_service_token(admin_user, name="etl", profiles=["development"],
                                      allowed_networks=["10.0.0.0/8"])
    response = api.get("/api/v1/secrets/", HTTP_AUTHORIZATION=f"Bearer {key}",
                       REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.last_used_at is None
    response = api.get("/api/v1/secrets/", HTTP_AUTHORIZATION=f"Bearer {key}",
                       REMOTE_ADDR="10.2.3.4")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_R19_one_answer_names_every_field_to_fix(admin_user, api):
    api.force_authenticate(admin_user)
    response = api.post("/api/v1/service-tokens/", {
        "name": "etl", "profiles": [], "keys": ["bad pattern"],
        "allowed_networks": ["intranet"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"profiles", "keys", "allowed_networks"}
    response = api.post("/api/v1/service-tokens/", {
        "name": "etl", "profiles": ["production"], "expires_in_days": 0}, format="json")
    assert response.status_code == 400
    assert "null for a token that never expires" in response.json()["expires_in_days"][0]


@pytest.mark.parametrize("method, path, who, reason", [
    ("post", "/api/v1/secrets/", "member", "no editor grant"),
    ("get", "/api/v1/grants/", "member", "admins only"),
    ("get", "/api/v1/tokens/", "token", "not open to service tokens"),
])
def test_R18_R19_a_refusal_audits_why(admin_user, member, api, method, path, who, reason):
    if who == "token":
        _, key = create_service_token(admin_user, name="etl", profiles=["development"])
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    else:
        api.force_authenticate(member)
    response = getattr(api, method)(path, {}, format="json")
    assert response.status_code == 403
    row = AuditLog.objects.filter(action="DENIED").get()
    assert (row.detail["attempted"], row.detail["reason"]) == (f"{method.upper()} {path}", reason)


# --- second outside review --------------------------------------------------------------


def test_R19_a_mapped_proxy_address_is_a_trusted_proxy(admin_user, api, settings):
    """A server on [::] sees an IPv4 proxy as ::ffff:10.0.0.5: still the proxy, so the
    client behind it is the one checked against the token's networks."""
    settings.SECRETS_TRUSTED_PROXIES = ["10.0.0.5"]
    _, key = create_service_token(admin_user, name="etl", profiles=["development"],
                                  allowed_networks=["10.0.0.0/8"])
    response = api.get("/api/v1/secrets/", HTTP_AUTHORIZATION=f"Token {key}",
                       REMOTE_ADDR="::ffff:10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 403
    assert AuditLog.objects.filter(action="DENIED").get().ip_address == "203.0.113.9"


def test_R19_a_spent_budget_is_audited_once_not_per_request(admin_user, api, settings):
    settings.SECRETS_SERVICE_TOKEN_RATE = "3/m"
    _, key = create_service_token(admin_user, name="etl", profiles=["development"])
    codes = [api.get("/api/v1/secrets/", HTTP_AUTHORIZATION=f"Token {key}").status_code
             for _ in range(30)]
    assert codes[:3] == [200] * 3 and set(codes[3:]) == {429}
    assert AuditLog.objects.filter(action="DENIED").count() == 1


def test_R19_an_ipv4_network_written_as_ipv6_is_refused(admin_user):
    with pytest.raises(ValidationError, match="write it as IPv4"):
        create_service_token(admin_user, name="etl", profiles=["development"],
                             allowed_networks=["::ffff:10.0.0.0/104"])


def test_R18_a_version_from_before_grants_is_restored_by_admins_only(admin_user, reader):
    from secrets_app.models import SecretVersion
    from secrets_app.services.secrets import restore_version

    add_grant(admin_user, reader, "development", "editor")
    secret = create_secret(admin_user, name="d", key="API_KEY", value="v1",
                           profile="development")
    update_secret(secret, admin_user, value="v2")
    SecretVersion.objects.filter(secret=secret, number=1).update(profile="")  # as migrated
    with pytest.raises(AdminRequired):
        restore_version(secret, 1, reader)
    assert AuditLog.objects.filter(action="DENIED").get().detail["reason"] == (
        "version 1 predates grants")
    restore_version(secret, 2, reader)
    restore_version(secret, 1, admin_user)


def test_R18_a_value_and_the_profile_it_came_from_are_one_lookup(admin_user, reader):
    """A production reader cannot be handed default's value checked as production's: the
    source says where its answer came from in the same lookup."""
    from secrets_app.sources.chain import resolve

    create_secret(admin_user, name="pg", key="POSTGRES_HOST", value="default-host",
                  profile="default")
    resolution = resolve("POSTGRES_HOST", "production")
    assert (resolution.origin.profile, resolution.answered_in) == ("default", "default")
    assert resolution.value.reveal() == "default-host"


def test_R18_an_editor_at_the_command_line_reads_no_environment_without_default(
        admin_user, reader, monkeypatch):
    from audit_app.context import audit_context
    from secrets_app.services.bulk import import_file

    monkeypatch.setenv("ETL_FIXTURE_SSH_PASSWORD", "from-the-server")
    add_grant(admin_user, reader, "development", "editor")
    text = "development:\n  SSH_PASSWORD: \"{{ env_var('ETL_FIXTURE_SSH_PASSWORD') }}\"\n"
    with audit_context(channel="cli"):
        summary = import_file(text, user=reader)
    assert summary.created == 0 and "may read `default`" in summary.failed[0].reason
    add_grant(admin_user, reader, "default", "reader")
    with audit_context(channel="cli"):
        assert import_file(text, user=reader).created == 1
