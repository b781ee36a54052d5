"""B1 (medium): is_unsafe_env_name (kozmo run, manage.py run_with_secrets) lets through names
that make ordinary programs run code chosen by whoever may edit a profile, from the value
alone (no file to plant), and misses names of the very lists it says it is drawn from (sudo's
env_reset: TERMINFO, TERMCAP, KRB5_CONFIG...). Each test FAILS while the hole is open."""

import contextlib
import io
import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command

from kozmo_secrets.client import is_unsafe_env_name
from secrets_app.services.secrets import create_secret

# sudo's env_reset ("initial_badenv_table"), which docs/client.md says the list is drawn from.
SUDO_BADENV_MISSING = ["TERMINFO", "TERMINFO_DIRS", "TERMPATH", "TERMCAP", "TMPPREFIX",
                       "KRB5_CONFIG", "KRB5_KTNAME"]
# Read at start-up by every program of a kind (not one program's own setting), and each
# decides which code runs or where code comes from, like GCONV_PATH or GEM_PATH do.
STARTUP_CODE = [
    "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_GLOBAL", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR",  # any git, under pip/go/npm...
    "OPENSSL_CONF", "OPENSSL_MODULES", "OPENSSL_ENGINES",  # every OpenSSL program: a .so
    "LESSOPEN", "LESSCLOSE",  # `|cmd %s`: less (git log, man, systemctl) runs it
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE", "UV_INDEX_URL",  # code source
    "NPM_CONFIG_REGISTRY", "NPM_CONFIG_SCRIPT_SHELL", "NPM_CONFIG_NODE_OPTIONS",
    "GOFLAGS", "GOPROXY",  # GOFLAGS=-toolexec=CMD
    "XDG_CONFIG_HOME", "XDG_DATA_DIRS",  # fish's config.fish and vendor_conf.d, git's config
    "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH",
    "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE",  # with =force ssh runs SSH_ASKPASS, tty or not
]


@pytest.mark.parametrize("name", SUDO_BADENV_MISSING + STARTUP_CODE)
def test_B1_unsafe_env_name_covers_code_choosing_variables(name):
    assert is_unsafe_env_name(name), f"{name} is passed from a credential to CMD"


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_B1_run_with_secrets_git_config_from_a_profile_runs_code(admin_user, tmp_path):
    """An editor of `production` stores three innocent-looking keys; the operator runs
    `run_with_secrets --profile production -- git status` (any deploy script that calls
    git): git runs the editor's command (core.fsmonitor), no file planted anywhere."""
    marker = tmp_path / "PWNED"
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for key, value in {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor",
                       "GIT_CONFIG_VALUE_0": f"touch {marker}; false"}.items():
        create_secret(admin_user, name=key.lower(), key=key, value=value, profile="production")
    err = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("run_with_secrets", "--profile", "production", "--",
                     "git", "-C", str(repo), "status", stdout=io.StringIO(), stderr=err)
    assert not marker.exists(), "git ran the command a profile editor stored"


@pytest.mark.django_db
def test_B1_run_with_secrets_openssl_conf_reaches_python(admin_user, tmp_path):
    """OPENSSL_CONF from a credential reaches a Python child (any program linked with
    OpenSSL reads it at start: a provider or engine module there is code)."""
    create_secret(admin_user, name="ossl", key="OPENSSL_CONF", value=str(tmp_path / "x.cnf"),
                  profile="production")
    out = tmp_path / "seen"
    with contextlib.suppress(SystemExit):
        call_command("run_with_secrets", "--profile", "production", "--", sys.executable,
                     "-c", f"import os; open({str(out)!r}, 'w').write("
                           "os.environ.get('OPENSSL_CONF', ''))",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert out.read_text() == "", "OPENSSL_CONF from a profile reached the child"


# B1b (low): not code, but whoever edits the profile decides whom CMD trusts over TLS, so
# with a proxy of theirs (HTTPS_PROXY from the same profile) they read CMD's traffic: the
# other credentials it sends, its answers. Rarely a program's legitimate credential.
TRUST_CHOOSING = ["NODE_TLS_REJECT_UNAUTHORIZED", "GIT_SSL_NO_VERIFY", "SSL_CERT_FILE",
                  "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                  "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO"]


@pytest.mark.parametrize("name", TRUST_CHOOSING)
def test_B1b_unsafe_env_name_covers_tls_trust_choosing_variables(name):
    assert is_unsafe_env_name(name), f"{name} is passed from a credential to CMD"
