"""Deployment safety (R17.15, R17.16, R17.20, R17.22): a shared cache is required in
production, `make serve` refuses development settings, files holding keys are private, and
every cache key belongs to one installation."""

import base64
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import ERROR, WARNING

from kozmo_secrets import dev_env
from kozmo_secrets.checks import private_files_check, shared_cache_check
from kozmo_secrets.deployment import cache_prefix, cache_scope, create_private_file
from kozmo_secrets.gunicorn_conf import serve_refusals

ROOT = Path(__file__).resolve().parents[1]
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # `make test` must not leak into make serve
REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                     "LOCATION": "redis://127.0.0.1:6379/5"}}


def production_env(tmp_path, **changes) -> dict:
    """A production-like environment without the checkout's .env or the test runner's
    service URLs: an empty SQLite database in tmp_path and no REDIS_URL."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SECRETS_", "DJANGO_", "REDIS_URL", "DATABASE_URL"))
           and key not in MAKE_VARIABLES}
    env.update({
        "KOZMO_IGNORE_DOTENV": "1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "production-like-secret-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "secrets.example.com",
        "SECRETS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    })
    env.update(changes)
    return {key: value for key, value in env.items() if value is not None}


def manage(args, env, **kwargs):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, **kwargs)


# --- R17.15: no silent per-process limits ------------------------------------------------

def test_R17_15_cache_scope_tells_shared_backends_from_per_process_ones():
    assert cache_scope(LOCMEM["default"]) == "per-process"
    assert cache_scope({"BACKEND": "django.core.cache.backends.dummy.DummyCache"}) == "per-process"
    assert cache_scope(
        {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"}) == "per-process"
    assert cache_scope(REDIS["default"]) == "shared"
    assert cache_scope({"BACKEND": "django_redis.cache.RedisCache"}) == "shared"
    assert cache_scope(
        {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache"}) == "shared"


def test_R17_15_deploy_check_is_an_error_naming_redis_url_on_a_local_memory_cache(settings):
    settings.DEBUG = False
    settings.CACHES = LOCMEM
    errors = shared_cache_check()
    assert [error.id for error in errors] == ["kozmo.E001"]
    assert errors[0].level == ERROR  # fails `check --deploy` at its default fail level
    assert "REDIS_URL" in errors[0].hint
    settings.CACHES = REDIS
    assert shared_cache_check() == []


def test_R17_15_manage_py_check_deploy_fails_without_redis_url(tmp_path):
    result = manage(["check", "--deploy"], production_env(tmp_path))
    assert result.returncode != 0
    assert "kozmo.E001" in result.stderr
    assert "REDIS_URL" in result.stderr
    with_redis = manage(["check", "--deploy", "--fail-level", "WARNING"],
                        production_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/5"))
    assert with_redis.returncode == 0, with_redis.stderr
    assert "kozmo.E001" not in with_redis.stderr


def test_R17_15_serve_refuses_several_workers_on_a_per_process_cache(settings):
    settings.DEBUG = False
    settings.CACHES = LOCMEM
    refusals = serve_refusals(2)
    assert len(refusals) == 1
    assert "WORKERS=2" in refusals[0] and "REDIS_URL" in refusals[0]
    assert serve_refusals(1) == []  # one process: its counters are the only ones
    settings.CACHES = REDIS
    assert serve_refusals(4) == []


# --- R17.16: no development settings in production ----------------------------------------

def test_R17_16_serve_refuses_debug_and_says_how_to_fix_it(settings):
    settings.DEBUG = True
    settings.CACHES = REDIS
    refusals = serve_refusals(1)
    assert len(refusals) == 1
    assert "DEBUG is on" in refusals[0]
    assert "DJANGO_DEBUG=false" in refusals[0] and "SECRETS_ENCRYPTION_KEY" in refusals[0]


def make_serve(tmp_path, workers: str, **env_changes):
    """`make serve` itself, as an operator runs it (without reinstalling the venv)."""
    env = production_env(tmp_path, **env_changes)
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "serve",
         f"WORKERS={workers}", f"BIND=127.0.0.1:{free_port()}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@needs_make
def test_R17_15_make_serve_refuses_two_workers_without_redis_before_migrating(tmp_path):
    result = make_serve(tmp_path, "2")
    assert result.returncode != 0
    assert "WORKERS=2 without a shared cache" in result.stderr
    assert "REDIS_URL" in result.stderr
    database = tmp_path / "db.sqlite3"
    assert not database.exists() or database.stat().st_size == 0  # nothing was migrated


@needs_make
def test_R17_16_make_serve_refuses_debug_on(tmp_path):
    result = make_serve(tmp_path, "1", DJANGO_DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr and "DJANGO_DEBUG=false" in result.stderr


def test_R17_15_R17_16_gunicorn_with_the_config_refuses_before_any_worker(tmp_path):
    """The same check guards gunicorn started by hand with the project's config."""
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "kozmo_secrets.wsgi",
         "--config", "python:kozmo_secrets.gunicorn_conf", "--workers", "3",
         "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT, env=production_env(tmp_path, DJANGO_DEBUG="true"),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "DEBUG is on" in result.stderr
    assert "WORKERS=3 without a shared cache" in result.stderr
    assert "Booting worker" not in result.stderr


# --- R17.12: the access log of `make serve` cannot drive the operator's terminal -----------

TERMINAL_ESCAPES = "\x1b]0;pwned\x07\x1b[31mRED"


def wait_for_port(port: int, process, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing listens on port {port}")


@needs_make
def test_R17_12_make_serve_escapes_what_clients_put_in_the_access_log(tmp_path):
    """A real gunicorn, started by `make serve` with its access log on standard output."""
    port = free_port()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "serve", "WORKERS=1",
         f"BIND=127.0.0.1:{port}"],
        cwd=ROOT, env=production_env(tmp_path, DJANGO_STATIC_ROOT=str(tmp_path / "static")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: make, gunicorn and its worker
    )
    try:
        wait_for_port(port, process)
        basic = base64.b64encode(f"{TERMINAL_ESCAPES}:x".encode()).decode()
        request = ("GET /healthz HTTP/1.1\r\n"
                   "Host: secrets.example.com\r\n"
                   f"Authorization: Basic {basic}\r\n"
                   # gunicorn refuses C0 controls in a header, not C1 ones: \x9b is CSI
                   "User-Agent: agent\x9b31mRED\r\n"
                   "Connection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request.encode("latin-1"))
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    access_lines = [line for line in stdout.splitlines() if "/healthz" in line]
    assert len(access_lines) == 1, (stdout, stderr)
    line = access_lines[0]
    assert "\\x1b]0;pwned\\x07\\x1b[31mRED" in line  # the username, shown escaped
    assert "agent\\x9b31mRED" in line  # the user agent too
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in stdout and raw not in stderr


# --- R17.20: files holding keys or secrets are private -------------------------------------

@pytest.fixture
def open_umask():
    previous = os.umask(0o022)  # the usual umask, under which files come out 0644
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_R17_20_the_development_env_file_is_created_private(tmp_path, open_umask):
    path = tmp_path / ".env"
    dev_env.write(str(path))
    assert mode(path) == 0o600
    text = path.read_text()
    assert "SECRETS_ENCRYPTION_KEY=" in text and "DJANGO_DEBUG=true" in text
    with pytest.raises(FileExistsError):
        dev_env.write(str(path))  # never overwrites the keys of an existing .env


@needs_make
def test_R17_20_make_writes_a_private_env_file(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in MAKE_VARIABLES}
    stamp = tmp_path / "installed"
    stamp.touch()
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path),
         f"PY={sys.executable}", f"STAMP={stamp}", "-o", str(stamp), ".env"],
        env=env, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / ".env") == 0o600


def test_R17_20_the_sqlite_database_and_its_journals_are_private(tmp_path):
    env = production_env(tmp_path)
    result = manage(["migrate", "--noinput", "-v", "0"], env,
                    preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "db.sqlite3") == 0o600
    # SQLite gives its rollback journal and WAL files the database file's mode.
    with sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TABLE probe (x)")
        db.execute("INSERT INTO probe VALUES (1)")
        assert mode(tmp_path / "db.sqlite3-journal") == 0o600
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("INSERT INTO probe VALUES (2)")
        assert mode(tmp_path / "db.sqlite3-wal") == 0o600


def test_R17_20_create_private_file_never_touches_an_existing_file(tmp_path, open_umask):
    path = tmp_path / "existing"
    path.write_text("data")
    create_private_file(path)
    assert path.read_text() == "data" and mode(path) == 0o644


def test_R17_20_start_up_warns_when_the_env_file_is_readable_by_others(tmp_path, settings):
    path = tmp_path / ".env"
    path.write_text("SECRETS_ENCRYPTION_KEY=x\n")
    path.chmod(0o644)
    settings.DOTENV_FILE = str(path)
    warnings = private_files_check()
    assert [warning.id for warning in warnings] == ["kozmo.W001"]
    assert warnings[0].level == WARNING
    assert str(path) in warnings[0].msg and f"chmod 600 {path}" in warnings[0].msg
    path.chmod(0o600)
    assert private_files_check() == []


def test_R17_20_manage_py_warns_about_a_readable_sqlite_database(tmp_path):
    database = tmp_path / "db.sqlite3"
    database.touch()
    database.chmod(0o644)
    result = manage(["check"], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "kozmo.W001" in result.stderr and f"chmod 600 {database}" in result.stderr


@pytest.mark.parametrize("entry_point", ["wsgi", "asgi"])
def test_R17_15_R17_20_the_server_app_warns_at_start_up(tmp_path, entry_point):
    """`gunicorn kozmo_secrets.wsgi` started by hand runs no system checks: importing the
    app logs what `check` would say, once: the readable .env (its path and the chmod that
    fixes it) and, with DEBUG off and no REDIS_URL, the per-process limits."""
    project = tmp_path / "project"  # a checkout of its own: settings read BASE_DIR/.env
    shutil.copytree(ROOT / "kozmo_secrets", project / "kozmo_secrets",
                    ignore=shutil.ignore_patterns("__pycache__"))
    dotenv = project / ".env"
    dotenv.write_text(f"SECRETS_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n")
    dotenv.chmod(0o644)
    env = production_env(tmp_path, KOZMO_IGNORE_DOTENV=None, SECRETS_ENCRYPTION_KEY=None,
                         PYTHONPATH=os.pathsep.join([str(project), str(ROOT)]))
    result = subprocess.run(
        [sys.executable, "-c", f"import kozmo_secrets.{entry_point} as app; print(app.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(project / "kozmo_secrets" / f"{entry_point}.py")
    readable = f"{dotenv} holds the server's keys and is readable by other users. " \
               f"Run: chmod 600 {dotenv}"
    assert result.stderr.count(readable) == 1, result.stderr
    assert result.stderr.count("The cache is local to each process") == 1, result.stderr
    assert "Set REDIS_URL" in result.stderr


# --- R17.22: one installation's cache keys are its own --------------------------------------

def settings_cache_prefix(**env_changes) -> str:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "SECRETS_CACHE_PREFIX")}
    env.update(env_changes)
    result = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; "
         "print(settings.CACHES['default']['KEY_PREFIX'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    return result.stdout.strip()


def test_R17_22_the_cache_prefix_comes_from_the_database_identity():
    original = settings_cache_prefix(DATABASE_URL="postgres://kozmo@db.internal:5432/secrets")
    restored = settings_cache_prefix(DATABASE_URL="postgres://kozmo@db.internal:5432/restored")
    moved = settings_cache_prefix(DATABASE_URL="postgres://kozmo@db2.internal:5432/secrets")
    again = settings_cache_prefix(DATABASE_URL="postgres://other@db.internal:5432/secrets")
    assert len({original, restored, moved}) == 3
    assert again == original  # same database, another role: the same installation
    override = settings_cache_prefix(DATABASE_URL="postgres://kozmo@db.internal:5432/secrets",
                                     SECRETS_CACHE_PREFIX="kozmo-blue")
    assert override == "kozmo-blue"


@pytest.mark.services
@pytest.mark.django_db
def test_R17_22_two_installations_on_one_redis_do_not_share_counts_or_limits(
        settings, admin_user):
    """Two settings that differ only in DATABASES, on this run's own Redis database."""
    from django.core.cache import cache

    from secrets_app.access import ratelimit
    from secrets_app.list_counts import cached_count
    from secrets_app.models import Secret
    from secrets_app.services.secrets import create_secret

    location = settings.CACHES["default"]["LOCATION"]
    database = settings.DATABASES["default"]

    def use_installation(name):
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location,
            "KEY_PREFIX": cache_prefix({**database, "NAME": name}),
        }}

    use_installation("original")
    assert cached_count(Secret.objects.all()) == 0
    cache.set("kozmo:probe", "original")
    for _ in range(3):
        ratelimit.hit("decrypt", admin_user.pk, "3/m")

    use_installation("restored")
    assert cache.get("kozmo:probe") is None  # the original's keys are not the copy's
    assert ratelimit.hit("decrypt", admin_user.pk, "3/m").count == 1
    create_secret(admin_user, name="only-in-the-copy", key="API_TOKEN", value="v")
    assert cached_count(Secret.objects.all()) == 1

    use_installation("original")
    assert cache.get("kozmo:probe") == "original"
    assert not ratelimit.hit("decrypt", admin_user.pk, "3/m").allowed  # its own three, plus one
