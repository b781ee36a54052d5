"""One sign-in throttle for every way in (R17.5, R17.6), usernames with control characters
(R17.8) and a cache outage while signing in (R17.19).

Every test runs on the three ways to sign in: the console form (/accounts/login/), the Django
admin (/admin/login/) and HTTP Basic on POST /api/v1/tokens/.
"""

import base64
import http.client
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.cache.backends.base import CacheKeyWarning
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.signin import ThrottledModelBackend

pytestmark = pytest.mark.django_db

IP = "198.51.100.1"
THROTTLED = re.compile(r"Too many failed sign-ins\. Try again in (\d+) minutes?\.")


@dataclass
class Outcome:
    """What one sign-in attempt came to, whichever way it was made."""

    kind: str  # "signed in", "refused", "throttled", "unavailable"
    status: int
    text: str
    retry_after: int | None = None


class SignInPath:
    name = ""

    def attempt(self, username, password, ip=IP, agent="pytest-agent") -> Outcome:
        raise NotImplementedError


class ConsoleForm(SignInPath):
    name = "console"
    url = "/accounts/login/"
    signed_in_status = 302

    def attempt(self, username, password, ip=IP, agent="pytest-agent"):
        client = Client()  # a fresh browser each time: no session carries over
        response = client.post(self.url, {"username": username, "password": password},
                               REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        text = response.content.decode()
        if response.status_code == self.signed_in_status:
            assert "_auth_user_id" in client.session
            return Outcome("signed in", response.status_code, text)
        assert "_auth_user_id" not in client.session
        if response.status_code == 503:
            return Outcome("unavailable", 503, text)
        assert response.status_code == 200, text[:500]
        if THROTTLED.search(text):
            return Outcome("throttled", 200, text)
        return Outcome("refused", 200, text)


class AdminForm(ConsoleForm):
    name = "admin"
    url = "/admin/login/?next=/admin/"


class BasicAuth(SignInPath):
    name = "basic"

    def attempt(self, username, password, ip=IP, agent="pytest-agent"):
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")
        response = client.post("/api/v1/tokens/", {"name": "cli"}, format="json",
                               REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        text = response.content.decode()
        kinds = {201: "signed in", 401: "refused", 429: "throttled", 503: "unavailable"}
        assert response.status_code in kinds, (response.status_code, text[:500])
        retry_after = int(response["Retry-After"]) if "Retry-After" in response else None
        return Outcome(kinds[response.status_code], response.status_code, text, retry_after)


PATHS = [ConsoleForm(), AdminForm(), BasicAuth()]
each_path = pytest.mark.parametrize("path", PATHS, ids=[path.name for path in PATHS])


def assert_throttled(outcome: Outcome) -> None:
    assert outcome.kind == "throttled", outcome.text[:500]
    if outcome.status == 429:  # HTTP Basic: how long to wait is in the header and the body
        assert 1 <= outcome.retry_after <= 15 * 60
        assert THROTTLED.search(outcome.text)
    else:
        minutes = int(THROTTLED.search(outcome.text).group(1))
        assert 1 <= minutes <= 15


# --- R17.5: one throttle on every path -------------------------------------------------------


@each_path
def test_R17_5_five_failures_refuse_the_sixth_even_with_the_right_password(path, admin_user):
    for _ in range(5):
        assert path.attempt("root", "wrong").kind == "refused"
    assert_throttled(path.attempt("root", "root-password"))
    assert_throttled(path.attempt("root", "root-password", ip="203.0.113.9"))  # per user
    assert path.attempt("bob", "wrong").kind == "refused"  # other usernames unaffected


def test_R17_5_the_paths_share_one_budget(admin_user):
    console, admin, basic = PATHS
    for path in (console, console, admin, admin, basic):
        assert path.attempt("root", "wrong").kind == "refused"
    for path in PATHS:
        assert_throttled(path.attempt("root", "root-password"))


def test_R17_5_the_backend_is_the_only_one_configured(settings):
    """The throttle lives in the authentication backend: a new sign-in path that calls
    authenticate() cannot skip it."""
    assert settings.AUTHENTICATION_BACKENDS == ["secrets_app.access.signin.ThrottledModelBackend"]


def test_R17_5_the_backend_refuses_direct_callers_too(admin_user):
    from django.contrib.auth import authenticate
    from django.core.exceptions import ValidationError

    for _ in range(5):
        assert authenticate(None, username="root", password="wrong") is None
    with pytest.raises(ValidationError, match="Too many failed sign-ins"):
        authenticate(None, username="root", password="root-password")


def test_R17_5_the_async_sign_in_is_throttled_too(admin_user):
    from asgiref.sync import async_to_sync
    from django.contrib.auth import aauthenticate
    from django.core.exceptions import ValidationError

    for _ in range(5):
        assert async_to_sync(aauthenticate)(None, username="root", password="wrong") is None
    with pytest.raises(ValidationError, match="Too many failed sign-ins"):
        async_to_sync(aauthenticate)(None, username="root", password="root-password")


@each_path
def test_R17_5_many_names_from_one_address_are_throttled(path, admin_user, settings):
    settings.SECRETS_LOGIN_RATE_PER_IP = "3/15m"
    for number in range(3):
        assert path.attempt(f"guess{number}", "nope", ip="192.0.2.7").kind == "refused"
    assert_throttled(path.attempt("root", "root-password", ip="192.0.2.7"))
    assert path.attempt("root", "root-password", ip="192.0.2.8").kind == "signed in"


@each_path
def test_R17_5_failures_are_audited_without_the_password(path, admin_user):
    assert path.attempt("root", "WRONG-PASSWORD-CANARY", agent="agent/1.0").kind == "refused"
    entry = AuditLog.objects.get(action="LOGIN_FAILED")
    assert (entry.allowed, entry.detail, entry.ip_address, entry.user_agent) == (
        False, {"username": "root"}, IP, "agent/1.0")
    assert "CANARY" not in str(entry.detail) + entry.user_agent


@each_path
def test_R17_5_refused_attempts_beyond_the_limit_are_not_password_checks(path, admin_user):
    """Five checked passwords, five audit rows; the throttled ones check nothing."""
    for _ in range(8):
        path.attempt("root", "wrong")
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 5


# --- R17.6 (a): the username as the user model normalises it --------------------------------

FULLWIDTH_ROOT = "\uff52\uff4f\uff4f\uff54"  # "root" in fullwidth letters


@each_path
@pytest.mark.parametrize("failing_as, signing_in_as", [
    ("root", FULLWIDTH_ROOT), (FULLWIDTH_ROOT, "root"), ("ROOT", "root"),
    ("r\uff4fot", "\uff32oot"),
])
def test_R17_6_look_alike_spellings_share_one_budget(path, admin_user, failing_as,
                                                      signing_in_as):
    for _ in range(5):
        assert path.attempt(failing_as, "wrong").kind == "refused"
    assert_throttled(path.attempt(signing_in_as, "root-password"))


@each_path
def test_R17_6_the_fullwidth_name_signs_in_as_the_user_on_every_path(path, admin_user):
    """Every path looks the user up by the normalised name, as the console form always did."""
    assert path.attempt(FULLWIDTH_ROOT, "root-password").kind == "signed in"


# --- R17.6 (b): counted before the password is checked; success gives the count back -------


def _parallel_guesses(monkeypatch, usernames: list[str]) -> tuple[list[str], list[str]]:
    """Call the backend from one thread per username at once; answer the passwords that
    reached the (slow, stubbed) password check and each thread's outcome."""
    checks = []
    lock = threading.Lock()

    def slow_password_check(self, request, username=None, password=None, **kwargs):
        with lock:
            checks.append(password)
        time.sleep(0.02)  # a real hasher takes time: the others arrive meanwhile
        return None

    monkeypatch.setattr(ModelBackend, "authenticate", slow_password_check)
    barrier = threading.Barrier(len(usernames))

    def guess(number):
        barrier.wait()
        try:
            ThrottledModelBackend().authenticate(None, username=usernames[number],
                                                 password=f"guess-{number}")
            return "checked"
        except Exception as error:
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=len(usernames)) as pool:
        outcomes = list(pool.map(guess, range(len(usernames))))
    return checks, outcomes


def test_R17_6_forty_parallel_guesses_check_five_passwords(admin_user, monkeypatch, settings):
    """40 threads guess one user's password at once: exactly 5 reach the password check.
    The address limit is raised out of the way: with both in play, a guess the user counter
    admits can still be refused by the address counter (fewer checks, never more)."""
    settings.SECRETS_LOGIN_RATE_PER_IP = "1000/15m"
    checks, outcomes = _parallel_guesses(monkeypatch, ["root"] * 40)
    assert len(checks) == 5, (checks, sorted(set(outcomes)), outcomes)
    assert outcomes.count("checked") == 5 and outcomes.count("LoginThrottled") == 35, outcomes


def test_R17_6_forty_parallel_names_from_one_address_check_twenty(db, monkeypatch, settings):
    """40 threads, 40 usernames, one address at once: exactly the address limit (20) reach
    the password check."""
    settings.SECRETS_LOGIN_RATE_PER_IP = "20/15m"
    checks, outcomes = _parallel_guesses(monkeypatch, [f"user-{n}" for n in range(40)])
    assert len(checks) == 20, (sorted(set(outcomes)), outcomes)
    assert outcomes.count("checked") == 20 and outcomes.count("LoginThrottled") == 20, outcomes


def test_R17_6_both_limits_together_never_let_more_than_five_through(admin_user, monkeypatch):
    """The default limits (5 per user, 20 per address), 40 guesses at one user: never more
    than five checks, whichever counter refuses the rest."""
    checks, outcomes = _parallel_guesses(monkeypatch, ["root"] * 40)
    assert 1 <= len(checks) <= 5, (checks, outcomes)
    assert set(outcomes) <= {"checked", "LoginThrottled"}, outcomes
    assert outcomes.count("checked") == len(checks), outcomes


@each_path
def test_R17_6_successful_sign_ins_use_up_no_budget(path, admin_user):
    for number in range(30):
        assert path.attempt("root", "root-password").kind == "signed in", number


@each_path
def test_R17_6_successes_give_back_only_their_own_count(path, admin_user):
    """Four failures, ten successes, one more failure: the limit of five is reached."""
    for _ in range(4):
        assert path.attempt("root", "wrong").kind == "refused"
    for _ in range(10):
        assert path.attempt("root", "root-password").kind == "signed in"
    assert path.attempt("root", "wrong").kind == "refused"
    assert_throttled(path.attempt("root", "root-password"))


@each_path
def test_R17_6_many_users_signing_in_from_one_office_are_not_throttled(path, db, settings):
    settings.SECRETS_LOGIN_RATE_PER_IP = "20/15m"
    for number in range(25):
        User.objects.create_superuser(f"user{number}", None, "user-password")
    for number in range(25):
        assert path.attempt(f"user{number}", "user-password").kind == "signed in", number


# --- R17.6 (c) and R17.8: awkward usernames ---------------------------------------------------

AWKWARD_NAMES = {
    "spaces": "root with spaces and more spaces " * 3,
    "nul": "ro\x00ot",
    "control": "ro\x1b]0;pwned\x07ot",
    "long": "x" * 5000,
}


@each_path
@pytest.mark.parametrize("kind", list(AWKWARD_NAMES))
def test_R17_6_awkward_usernames_are_counted_under_a_hashed_key(path, admin_user, kind):
    username = AWKWARD_NAMES[kind]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcomes = [path.attempt(username, "wrong") for _ in range(6)]
    assert [warning for warning in caught if issubclass(warning.category, CacheKeyWarning)] == []
    if kind != "long" or path.name == "basic":  # the forms refuse 5000 characters unchecked
        assert [outcome.kind for outcome in outcomes[:5]] == ["refused"] * 5
        assert_throttled(outcomes[5])


@each_path
@pytest.mark.parametrize("kind", ["nul", "control"])
def test_R17_8_control_characters_in_a_username_are_a_clear_refusal(path, admin_user, kind):
    outcome = path.attempt(AWKWARD_NAMES[kind], "root-password")
    assert outcome.kind == "refused"
    if path.name == "basic":
        assert outcome.status == 401 and '"Not authenticated"' in outcome.text
    else:
        assert "A username cannot contain control characters." in outcome.text
    entry = AuditLog.objects.get(action="LOGIN_FAILED")
    assert "\x00" not in entry.detail["username"] and "\x1b" not in entry.detail["username"]
    assert entry.detail["username"].startswith("ro\\x")


@pytest.mark.services
@each_path
def test_R17_8_a_nul_username_is_refused_and_counted_on_postgresql(path, admin_user):
    assert connection.vendor == "postgresql"
    outcomes = [path.attempt("vic\x00tim", "wrong") for _ in range(6)]
    assert [outcome.kind for outcome in outcomes[:5]] == ["refused"] * 5
    assert_throttled(outcomes[5])
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 5


# --- R17.19: a cache outage fails closed, names the cache, recovers by itself ---------------


def redis_cache(port: int) -> dict:
    return {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}


def assert_unavailable(outcome: Outcome) -> None:
    assert outcome.kind == "unavailable" and outcome.status == 503, outcome.text[:500]
    assert "Signing in is unavailable" in outcome.text and "REDIS_URL" in outcome.text


@each_path
def test_R17_19_signing_in_without_the_cache_is_a_503_that_names_it(path, admin_user,
                                                                     settings):
    settings.CACHES = redis_cache(1)  # nothing listens on port 1
    assert_unavailable(path.attempt("root", "root-password"))
    assert_unavailable(path.attempt("root", "wrong"))
    assert not AuditLog.objects.filter(action="LOGIN_FAILED").exists()  # nothing was checked
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert path.attempt("root", "root-password").kind == "signed in"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own on a free port, to stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed")
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


@pytest.mark.services
@each_path
def test_R17_19_signing_in_stops_with_redis_and_comes_back_with_it(path, admin_user,
                                                                   settings, own_redis):
    settings.CACHES = redis_cache(own_redis.port)
    assert path.attempt("root", "wrong").kind == "refused"
    assert path.attempt("root", "root-password").kind == "signed in"
    own_redis.stop()
    assert_unavailable(path.attempt("root", "root-password"))
    own_redis.start()  # the same port, empty: nothing to do but use it again
    assert path.attempt("root", "root-password").kind == "signed in"
    for _ in range(5):
        assert path.attempt("root", "wrong").kind == "refused"
    assert_throttled(path.attempt("root", "root-password"))


# --- R17.6 (b) over real HTTP, on PostgreSQL + Redis ------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_R17_6_forty_parallel_basic_guesses_over_http_check_five_passwords(live_server, settings):
    settings.SECRETS_LOGIN_RATE_PER_IP = "1000/15m"  # the user limit alone (see above)
    User.objects.create_user("victim", None, "victim-password")
    credentials = base64.b64encode(b"victim:wrong-guess").decode()
    barrier = threading.Barrier(40)

    def guess(_):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/tokens/", data=b'{"name": "x"}', method="POST",
            headers={"Authorization": f"Basic {credentials}",
                     "Content-Type": "application/json"},
        )
        barrier.wait()
        for _ in range(50):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
            except (ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.05)  # the test server's listen queue overflowed: not served
        raise AssertionError("the live server did not answer")

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert statuses.count(401) == 5 and statuses.count(429) == 35, statuses
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 5


# --- R17.5: checking a signed-in user's current password is a sign-in too -------------------

NEW_PASSWORD = "a-Fresh-passphrase-1942"
WRONG_OLD = "Your old password was entered incorrectly"


class AdminPasswordChange:
    """POST /admin/password_change/ in a signed-in admin session (a stolen one, say)."""

    url = "/admin/password_change/"

    def __init__(self, user):
        self.user = user
        self.client = Client()
        self.client.force_login(user)

    def attempt(self, old_password, ip=IP, agent="pytest-agent") -> Outcome:
        response = self.client.post(self.url, {
            "old_password": old_password, "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD}, REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        text = response.content.decode()
        self.user.refresh_from_db()
        changed = self.user.check_password(NEW_PASSWORD)
        if response.status_code == 302:
            assert response["Location"] == "/admin/password_change/done/" and changed
            return Outcome("signed in", 302, text)
        assert not changed
        if response.status_code == 503:
            return Outcome("unavailable", 503, text)
        assert response.status_code == 200, text[:500]
        if THROTTLED.search(text):
            assert WRONG_OLD not in text
            return Outcome("throttled", 200, text)
        assert WRONG_OLD in text, text[:2000]
        return Outcome("refused", 200, text)


def test_R17_5_the_admin_password_change_uses_the_throttled_form(admin_user):
    from secrets_app.access.forms import ThrottledPasswordChangeForm

    client = Client()
    client.force_login(admin_user)
    response = client.get("/admin/password_change/")
    assert response.status_code == 200
    assert type(response.context["form"]) is ThrottledPasswordChangeForm


def test_R17_5_five_wrong_old_passwords_refuse_the_right_one(admin_user):
    change = AdminPasswordChange(admin_user)
    for _ in range(5):
        assert change.attempt("wrong").kind == "refused"
    assert_throttled(change.attempt("root-password"))
    assert_throttled(change.attempt("root-password", ip="203.0.113.9"))  # per username
    assert admin_user.check_password("root-password")


def test_R17_5_the_password_change_shares_the_sign_in_budget(admin_user):
    """Failed sign-ins on /accounts/login/ and wrong old passwords count in one budget, both
    ways."""
    console = ConsoleForm()
    change = AdminPasswordChange(admin_user)
    for _ in range(3):
        assert console.attempt("root", "wrong").kind == "refused"
    for _ in range(2):
        assert change.attempt("wrong").kind == "refused"
    assert_throttled(console.attempt("root", "root-password"))
    assert_throttled(change.attempt("root-password"))


def test_R17_5_failed_sign_ins_refuse_the_password_change(admin_user):
    console, change = ConsoleForm(), AdminPasswordChange(admin_user)
    for _ in range(5):
        assert console.attempt("\uff32OOT", "wrong").kind == "refused"  # as normalised
    assert_throttled(change.attempt("root-password"))


def test_R17_5_the_password_change_is_throttled_per_address_too(admin_user, settings):
    settings.SECRETS_LOGIN_RATE_PER_IP = "3/15m"
    console, change = ConsoleForm(), AdminPasswordChange(admin_user)
    for number in range(3):
        assert console.attempt(f"guess{number}", "nope", ip="192.0.2.7").kind == "refused"
    assert_throttled(change.attempt("root-password", ip="192.0.2.7"))
    assert change.attempt("root-password", ip="192.0.2.8").kind == "signed in"


def test_R17_5_a_right_old_password_uses_up_no_budget(admin_user):
    """Four failures, a successful change, one more failure: the limit of five is reached
    only then."""
    change = AdminPasswordChange(admin_user)
    for _ in range(4):
        assert change.attempt("wrong").kind == "refused"
    assert change.attempt("root-password").kind == "signed in"
    console = ConsoleForm()
    assert console.attempt("root", NEW_PASSWORD).kind == "signed in"
    assert console.attempt("root", "wrong").kind == "refused"
    assert_throttled(console.attempt("root", NEW_PASSWORD))


def test_R17_5_right_current_passwords_are_never_throttled(admin_user):
    from secrets_app.access.signin import check_password_throttled

    for number in range(30):
        assert check_password_throttled(admin_user, "root-password"), number
    assert ConsoleForm().attempt("root", "root-password").kind == "signed in"


def test_R17_5_a_wrong_old_password_is_audited_as_a_failed_sign_in(admin_user):
    change = AdminPasswordChange(admin_user)
    assert change.attempt("WRONG-PASSWORD-CANARY", agent="agent/2.0").kind == "refused"
    entry = AuditLog.objects.get(action="LOGIN_FAILED")
    assert (entry.allowed, entry.user_id, entry.ip_address, entry.user_agent) == (
        False, admin_user.pk, IP, "agent/2.0")
    assert entry.detail == {"username": "root", "check": "current password"}
    assert "CANARY" not in str(entry.detail) + entry.user_agent


def test_R17_5_throttled_old_passwords_are_not_checked(admin_user, monkeypatch):
    """Eight tries: five checked passwords and five audit rows; the rest check nothing."""
    checks = []
    original = User.check_password
    monkeypatch.setattr(User, "check_password",
                        lambda user, raw: checks.append(raw) or original(user, raw))
    change = AdminPasswordChange(admin_user)
    outcomes = [change.attempt("wrong").kind for _ in range(8)]
    assert outcomes == ["refused"] * 5 + ["throttled"] * 3
    assert checks.count("wrong") == 5
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 5


def test_R17_5_the_password_change_without_the_cache_is_a_503(admin_user, settings):
    change = AdminPasswordChange(admin_user)
    settings.CACHES = redis_cache(1)  # nothing listens on port 1
    outcome = change.attempt("root-password")
    assert outcome.kind == "unavailable", outcome.text[:500]
    assert "Checking your password is unavailable" in outcome.text and "REDIS_URL" in outcome.text
    assert not AuditLog.objects.filter(action="LOGIN_FAILED").exists()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert change.attempt("root-password").kind == "signed in"
