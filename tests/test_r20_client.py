"""R20: the `kozmo` client (kozmo_secrets/client.py, docs/client.md).

The formats are tested in process (round trips through python-dotenv and PyYAML); everything
else runs the client as a subprocess, as a user would: against a stub server in a thread (each
error path: exit code, message, and never the token) and end to end against the live server.
"""

import ast
import datetime
import http.server
import io
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dotenv
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from kozmo_secrets import client

REPO = Path(__file__).resolve().parent.parent
CLIENT = REPO / "kozmo_secrets" / "client.py"
TOKEN = "kzsvc_Stub-Token-NEVER-printed-4242"
HOSTILE = {
    "QUOTES": "it's \"quoted\" and 'single'",
    "BACKSLASHES": "C:\\path\\n\\t\\\\ end\\",
    "NEWLINES": "line one\nline two\r\nthree\rfour\n",
    "DOLLARS": "pa$$word $HOME $(whoami) `id` $",
    "HASH": "#not a comment # really",
    "SPACES": "  leading and trailing  ",
    "EQUALS": "a=b=c",
    "UNICODE": "héllo wörld 😀 日本",
    "CONTROLS": "\x7f \x85 \u2028 \u2029 \ufeff \x01 \x1b[31m \t \x0b \x0c \xa0",
    "EMPTY": "",
}


# --- the formats --------------------------------------------------------------------------

keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True)
# What dotenv output can carry: not ${ (python-dotenv expands it), and not $( or a backtick
# in a value that needs double quotes (a shell sourcing the file would run it).
values = st.text().filter(lambda text: "${" not in text and (
    client._PLAIN_IN_SINGLE_QUOTES.match(text) or ("$(" not in text and "`" not in text)))


def read_dotenv(text, tmp_path, interpolate=True):
    """What python-dotenv reads back, from a file (universal newlines) and from a stream:
    both must agree."""
    path = tmp_path / "out.env"
    path.write_bytes(text.encode("utf-8"))
    from_file = dotenv.dotenv_values(path, interpolate=interpolate)
    assert dotenv.dotenv_values(stream=io.StringIO(text), interpolate=interpolate) == from_file
    return from_file


@pytest.mark.parametrize("interpolate", [True, False])
def test_R20_dotenv_round_trips_hostile_values(tmp_path, interpolate):
    text = client.dotenv(HOSTILE)
    assert read_dotenv(text, tmp_path, interpolate) == HOSTILE
    assert text.count("\n") == len(HOSTILE)  # \n and \r are escaped: one line a key


@given(credentials=st.dictionaries(keys, values, max_size=6))
@example(credentials={"A": "\\\"", "B": "'\\'", "C": "\\n", "D": "$", "E": "$x{y} $"})
def test_R20_dotenv_round_trips_any_text(tmp_path_factory, credentials):
    tmp_path = tmp_path_factory.mktemp("dotenv")
    assert read_dotenv(client.dotenv(credentials), tmp_path) == credentials


def test_R20_dotenv_refuses_a_value_a_sourcing_shell_would_run():
    assert client.dotenv({"PLAIN": "$(id) `id`"}) == "PLAIN='$(id) `id`'\n"
    with pytest.raises(client.Failure) as refused:
        client.dotenv({"MIXED": "it's $(id)"})
    assert refused.value.code == client.USAGE
    assert "MIXED's value" in refused.value.message and "$(" in refused.value.message


def test_R20_dotenv_refuses_a_value_python_dotenv_would_expand():
    with pytest.raises(client.Failure) as refused:
        client.dotenv({"FINE": "x", "TEMPLATE": "postgres://${USER}@db"})
    assert refused.value.code == client.USAGE
    assert "TEMPLATE's value holds '${'" in refused.value.message
    assert "--format json" in refused.value.message


@given(credentials=st.dictionaries(keys, st.text(), max_size=6))
@example(credentials={"EMOJI": "😀", "DEL": "\x7f", "NEL": "\x85", "LS": "\u2028",
                      "BOM": "\ufeff", "NO": "yes", "Y": "~", "NULL": "null", "N": "0x10"})
def test_R20_yaml_round_trips_any_text(credentials):
    text = client.as_yaml(credentials)
    assert yaml.safe_load(text) == credentials
    # One line a key: the scalars escape line breaks of every kind (NEL, LS, PS too).
    assert len(text.splitlines()) == max(1, len(credentials))


def test_R20_yaml_escapes_what_is_not_printable_and_keeps_emoji():
    text = client.as_yaml({"V": "😀\x7f\x85\u2028\ufeff\x00"})
    assert text == '"V": "😀\\x7f\\x85\\u2028\\ufeff\\0"\n'
    assert "\\ud83d" not in text.lower()  # no JSON-style surrogate pair
    assert client.as_yaml({}) == "{}\n"
    assert yaml.safe_load(client.as_yaml(HOSTILE)) == HOSTILE


@given(credentials=st.dictionaries(keys, st.text(), max_size=6))
def test_R20_json_round_trips_any_text(credentials):
    assert json.loads(client.as_json(credentials)) == credentials


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(("given_url", "insecure", "base"), [
    ("https://secrets.example.com", False, "https://secrets.example.com"),
    ("https://secrets.example.com/", False, "https://secrets.example.com"),
    ("https://example.com:8443/kozmo//", False, "https://example.com:8443/kozmo"),
    (" http://localhost:8000/ ", False, "http://localhost:8000"),
    ("http://127.0.0.5:8000", False, "http://127.0.0.5:8000"),
    ("http://[::1]:8000", False, "http://[::1]:8000"),
    ("http://secrets.internal", True, "http://secrets.internal"),
])
def test_R20_server_addresses_kozmo_accepts(given_url, insecure, base):
    assert client.server_url(given_url, insecure) == base


@pytest.mark.parametrize(("given_url", "says"), [
    ("", "set KOZMO_URL to the server's address, e.g. https://secrets.example.com, or pass "
         "--url"),
    ("secrets.example.com", "must start with https://, e.g. https://secrets.example.com"),
    ("ftp://files.example.com", "must start with https://, e.g. https://secrets.example.com"),
    ("localhost:8000", "must start with http:// or https://: use http://localhost:8000"),
    ("ftp://secrets.example.com", "must start with https://"),
    ("http://secrets.example.com", "refusing to send the token over plain http to "
                                   "secrets.example.com"),
    ("http://10.0.0.1:8000", "--insecure-http"),
    ("https://user:pw@secrets.example.com", "must not hold a user name or password"),
    ("https://secrets.example.com/?token=x", "must not hold a query"),
    ("https://secrets.example.com:99999", "port"),
])
def test_R20_server_addresses_kozmo_refuses(given_url, says):
    with pytest.raises(client.Failure) as refused:
        client.server_url(given_url, False)
    assert refused.value.code == client.USAGE
    assert says in refused.value.message


def test_R20_retry_after_reads_seconds_and_dates():
    in_30_s = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    assert client.retry_after({"Retry-After": "7"}) == 7
    assert 28 <= client.retry_after(
        {"Retry-After": in_30_s.strftime("%a, %d %b %Y %H:%M:%S GMT")}) <= 31
    assert client.retry_after({"Retry-After": "soon"}) is None
    assert client.retry_after({}) is None


def test_R20_the_exit_code_table_is_in_the_docstring_and_the_help():
    assert client.EXIT_CODES in client.__doc__
    for argv in (["--help"], ["get", "--help"], ["env", "--help"], ["run", "--help"]):
        shown = kozmo(*argv, url=None, token=None)
        assert shown.returncode == 0, shown.stderr
        assert client.EXIT_CODES in shown.stdout
    assert "KOZMO_TOKEN is removed from CMD's environment" in " ".join(
        kozmo("run", "--help", url=None, token=None).stdout.split())


# --- the module stands alone --------------------------------------------------------------


def test_R20_the_client_imports_only_the_standard_library():
    tree = ast.parse(CLIENT.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the file must work alone"
            imported.add(node.module.split(".")[0])
    assert imported, "the parse found no imports at all"
    outside = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert not outside, outside


def test_R20_the_package_init_imports_nothing():
    # `python -m kozmo_secrets.client` imports the package first: it must stay empty of imports.
    tree = ast.parse((REPO / "kozmo_secrets" / "__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def test_R20_the_client_runs_copied_alone_in_isolated_mode(tmp_path):
    shutil.copy(CLIENT, tmp_path / "client.py")
    shown = subprocess.run([sys.executable, "-I", "client.py", "--help"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, env=clean_env())
    assert shown.returncode == 0, shown.stderr
    assert "exit codes:" in shown.stdout and "usage: kozmo" in shown.stdout


def oldest_python():
    """A Python 3.9 on this machine, if there is one (pyenv keeps them in its versions/)."""
    candidates = [shutil.which("python3.9"),
                  *sorted(Path("~/.pyenv/versions").expanduser().glob("3.9*/bin/python"))]
    for candidate in filter(None, candidates):
        found = subprocess.run([str(candidate), "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == "(3, 9)":
            return str(candidate)
    return None


def test_R20_the_client_works_on_python_3_9(tmp_path, stub):
    python = oldest_python()
    if python is None:
        pytest.skip("no Python 3.9 on this machine")
    shutil.copy(CLIENT, tmp_path / "client.py")
    stub.answer(200, credentials_body({"API_KEY": "value from 3.9"}))
    done = subprocess.run([python, "-I", "client.py", "get", "API_KEY"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env=clean_env(KOZMO_URL=stub.url, KOZMO_TOKEN=TOKEN))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "value from 3.9\n"


# --- a stub server ------------------------------------------------------------------------


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a timeout test) is expected


class Stub:
    """An HTTP server in a thread that answers what it is told, in order (the last answer
    again once the list runs out), and records each request."""

    def __init__(self, tls=None):
        self.answers = []
        self.requests = []
        self.delay = 0.0
        self.received = threading.Event()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "at": time.monotonic()})
                stub.received.set()
                time.sleep(stub.delay)
                status, headers, body = (stub.answers.pop(0) if len(stub.answers) > 1
                                         else stub.answers[0])
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.server.server_port}"

    def answer(self, status, body, headers=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.answers.append((status, headers or {}, body))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


def credentials_body(values, missing=(), profile="default", fallback=None):
    body = {"profile": profile,
            "credentials": {key: {"value": value, "source": "database", "profile": profile}
                            for key, value in values.items()},
            "missing": list(missing)}
    if fallback is not None:  # an older server sends none
        body["fallback"] = fallback
    return body


def clean_env(**extra):
    """This process's environment without any KOZMO_* or proxy setting, plus `extra`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("KOZMO_") and "proxy" not in name.lower()}
    env.update(extra)
    return env


def kozmo(*argv, url=None, token=TOKEN, env=None, script=None, timeout=60):
    """Run the client as a user would. Whatever happens, the token is in none of its output."""
    extra = dict(env or {})
    if url is not None:
        extra["KOZMO_URL"] = url
    if token is not None:
        extra["KOZMO_TOKEN"] = token
    command = [script] if script else [sys.executable, "-m", "kozmo_secrets.client"]
    done = subprocess.run([*command, *argv], cwd=REPO, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, env=clean_env(**extra))
    assert TOKEN not in done.stderr
    assert TOKEN not in done.stdout
    return done


def on_a_terminal(*argv, url):
    """Run kozmo with stdout a terminal (a pty): (exit code, what reached the terminal,
    stderr)."""
    import pty

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kozmo_secrets.client", *argv], cwd=REPO,
            stdout=follower, stderr=subprocess.PIPE,
            env=clean_env(KOZMO_URL=url, KOZMO_TOKEN=TOKEN))
        os.close(follower)
        follower = None
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        stderr = process.stderr.read().decode("utf-8")
        process.wait(timeout=60)
        assert TOKEN not in stderr and TOKEN not in shown.decode("utf-8", "replace")
        return process.returncode, shown.decode("utf-8", "replace"), stderr
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)


def failed(done, code, *says):
    """The client stopped with `code`, printed nothing, and said each of `says` on stderr,
    prefixed `kozmo: `."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert done.stderr.startswith("kozmo: "), done.stderr
    for text in says:
        assert text in done.stderr, (text, done.stderr)


# --- get, env, run against the stub -------------------------------------------------------


def test_R20_get_prints_the_value_alone_and_sends_the_token(stub):
    stub.answer(200, credentials_body({"API_KEY": "s3cr3t value"}, profile="production"))
    done = kozmo("get", "API_KEY", "--profile", "production", url=stub.url + "/")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "s3cr3t value\n"
    assert done.stderr == ""
    request = stub.requests[0]
    assert request["path"] == "/api/v1/credentials/?profile=production&keys=API_KEY"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_R20_get_no_newline_prints_exactly_the_value_and_flags_win(stub):
    stub.answer(200, credentials_body({"API_KEY": "ends with a line break\n"}))
    # The flags (before the command or after it) win over KOZMO_URL / KOZMO_TOKEN.
    done = kozmo("--url", stub.url, "get", "API_KEY", "--no-newline", "--token", TOKEN,
                 url="https://elsewhere.invalid", token="kzs_wrong")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ends with a line break\n"
    assert stub.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("output_format", ["dotenv", "json", "yaml"])
def test_R20_env_prints_every_credential_in_each_format(stub, output_format):
    stub.answer(200, credentials_body(HOSTILE))
    done = kozmo("env", "--format", output_format, url=stub.url)
    assert done.returncode == 0, done.stderr
    read = {"dotenv": lambda text: dotenv.dotenv_values(stream=io.StringIO(text)),
            "json": json.loads, "yaml": yaml.safe_load}[output_format]
    assert read(done.stdout) == HOSTILE
    assert stub.requests[0]["path"] == "/api/v1/credentials/?profile=default"


def test_R20_env_keys_are_sent_without_blanks_or_repeats(stub):
    stub.answer(200, credentials_body({"A": "1", "B": "2"}))
    done = kozmo("env", "--keys", " A, B,,A ", "--format", "json", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"A": "1", "B": "2"}
    assert stub.requests[0]["path"].endswith("&keys=A%2CB")


def test_R20_env_dotenv_refuses_a_dollar_brace_value_and_prints_nothing(stub):
    stub.answer(200, credentials_body({"A": "fine", "TEMPLATE": "${HOME}/x"}))
    failed(kozmo("env", url=stub.url), client.USAGE, "TEMPLATE's value holds '${'")


def test_R20_a_missing_key_is_not_found_and_nothing_is_printed_or_run(stub, tmp_path):
    stub.answer(200, credentials_body({"A": "value-of-A"}, missing=["B", "C"]))
    failed(kozmo("get", "B", url=stub.url), client.NOT_FOUND,
           "not found in profile default: B (no source holds it")
    failed(kozmo("env", "--keys", "A,B,C", url=stub.url), client.NOT_FOUND,
           "not found in profile default: B, C (no source holds them")
    marker = tmp_path / "ran"
    done = kozmo("run", "--keys", "A,B", "--", sys.executable, "-c",
                 f"open({str(marker)!r}, 'w')", url=stub.url)
    failed(done, client.NOT_FOUND, "B")
    assert not marker.exists()
    assert "value-of-A" not in done.stderr


def test_R20_run_adds_the_credentials_removes_the_token_and_keeps_the_status(stub):
    stub.answer(200, credentials_body({"API_KEY": "from kozmo", "HOME": "overridden"}))
    child = ("import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in "
             "('API_KEY', 'HOME', 'KEPT', 'KOZMO_TOKEN')})); sys.exit(7)")
    done = kozmo("run", "--", sys.executable, "-c", child, url=stub.url,
                 env={"KEPT": "still here", "HOME": "/original"})
    assert done.returncode == 7, done.stderr
    assert json.loads(done.stdout) == {"API_KEY": "from kozmo", "HOME": "overridden",
                                       "KEPT": "still here", "KOZMO_TOKEN": None}
    assert done.stderr == ""


def test_R20_run_a_command_that_is_missing_or_not_executable(stub, tmp_path):
    stub.answer(200, credentials_body({"API_KEY": "x"}))
    failed(kozmo("run", "--", "kozmo-no-such-command", url=stub.url),
           client.COMMAND_NOT_FOUND, "kozmo: kozmo-no-such-command: command not found")
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    failed(kozmo("run", "--", str(script), url=stub.url), client.NOT_EXECUTABLE,
           f"kozmo: {script}: cannot be executed")
    failed(kozmo("run", url=stub.url), client.USAGE, "name the command to run after --")


def test_R20_the_console_script_runs_the_client(stub):
    script = Path(sys.executable).parent / "kozmo"
    assert script.exists(), "make install puts .venv/bin/kozmo"
    stub.answer(200, credentials_body({"API_KEY": "via the script"}))
    done = kozmo("get", "API_KEY", url=stub.url, script=str(script))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "via the script\n"


# --- the server's errors ------------------------------------------------------------------


def test_R20_401_is_not_authenticated(stub):
    stub.answer(401, {"detail": "Authentication credentials were not provided or are invalid."})
    failed(kozmo("get", "API_KEY", url=stub.url), client.NOT_AUTHENTICATED,
           "did not accept the token (401", "not valid, has expired or was revoked",
           "set KOZMO_TOKEN")


@pytest.mark.parametrize(("refused", "says"), [
    ([{"key": "DB_PASSWORD", "profile": "production"}, {"key": "API_KEY", "profile": "production"}],
     "refused (403): the token may not read DB_PASSWORD, API_KEY in profile production."),
    # API_KEY answers from `default` (production lacks it), where the token may not read.
    ([{"key": "DB_PASSWORD", "profile": "production"}, {"key": "API_KEY", "profile": "default"}],
     "may not read DB_PASSWORD in profile production; API_KEY in profile default."),
    ([{"profile": "production"}], "refused (403): the token may not read profile production."),
])
def test_R20_403_names_what_was_refused(stub, refused, says):
    stub.answer(403, {"detail": "Admin privileges required", "refused": refused})
    failed(kozmo("env", "--profile", "production", "--keys", "DB_PASSWORD,API_KEY",
                 url=stub.url), client.REFUSED, says)


def test_R20_403_without_refused_says_the_detail(stub):
    stub.answer(403, {"detail": "This service token may not be used from this address."})
    failed(kozmo("get", "API_KEY", url=stub.url), client.REFUSED,
           "refused (403): This service token may not be used from this address.")


def test_R20_429_waits_retry_after_once_then_succeeds(stub):
    stub.answer(429, {"detail": "Rate limit exceeded. Try again later."},
                {"Retry-After": "1"})
    stub.answer(200, credentials_body({"API_KEY": "after the wait"}))
    done = kozmo("get", "API_KEY", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "after the wait\n"
    assert done.stderr == "kozmo: rate limited, retrying in 1 s\n"
    first, second = stub.requests
    assert second["at"] - first["at"] >= 0.9


def test_R20_429_twice_is_rate_limited(stub):
    stub.answer(429, {"detail": "Rate limit exceeded. Try again later."},
                {"Retry-After": "1"})
    done = kozmo("get", "API_KEY", url=stub.url)
    failed(done, client.RATE_LIMITED, "kozmo: rate limited, retrying in 1 s\n",
           "still rate limited (429) after waiting 1 s: try again later")
    assert len(stub.requests) == 2


def test_R20_429_with_a_long_retry_after_does_not_wait(stub):
    stub.answer(429, {"detail": "Rate limit exceeded. Try again later."},
                {"Retry-After": "3600"})
    failed(kozmo("get", "API_KEY", url=stub.url), client.RATE_LIMITED,
           "asks to wait 3600 s, longer than kozmo waits (60 s)")
    assert len(stub.requests) == 1


@pytest.mark.parametrize(("status", "body", "headers", "says"), [
    (500, {"detail": "Failed to decrypt secret"}, {},
     "the server failed (500: Failed to decrypt secret)"),
    (503, {"detail": "The shared cache is down."}, {"Retry-After": "30"},
     "the server failed (503: The shared cache is down.) (it asks to retry in 30 s)"),
    (400, {"keys": ["Use UPPER_SNAKE names: lower_case."]}, {},
     "the server refused the request (400): keys: Use UPPER_SNAKE names: lower_case."),
    (404, {"detail": "Not found."}, {}, "no credentials endpoint at http://127.0.0.1:"),
    (302, b"", {"Location": "https://elsewhere.example/"}, "redirects (302) to "
     "https://elsewhere.example/; kozmo does not follow redirects"),
    (200, b"<html>a login page</html>", {"Content-Type": "text/html"},
     "the server's answer is not JSON (text/html)"),
    (200, {"unexpected": True}, {}, "the server's answer has no credentials"),
    (200, {"credentials": {"bad name": {"value": "x"}}, "missing": []}, {},
     "holds a key that is no variable name: 'bad name'"),
])
def test_R20_other_answers_are_the_server_answered_something_else(
        stub, status, body, headers, says):
    stub.answer(status, body, headers)
    failed(kozmo("get", "API_KEY", url=stub.url), client.BAD_ANSWER, says)
    assert len(stub.requests) == 1  # no redirect followed, nothing retried


# --- cannot reach the server --------------------------------------------------------------


def closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_R20_connection_refused_names_the_address():
    url = f"http://127.0.0.1:{closed_port()}"
    failed(kozmo("get", "API_KEY", url=url), client.UNREACHABLE,
           f"cannot reach {url}: connection refused")


def test_R20_a_slow_server_times_out(stub):
    stub.delay = 5
    stub.answer(200, credentials_body({"API_KEY": "too late"}))
    failed(kozmo("get", "API_KEY", "--timeout", "0.5", url=stub.url), client.UNREACHABLE,
           f"timed out after 0.5 s waiting for {stub.url}", "--timeout")


def test_R20_a_name_that_does_not_resolve_is_a_dns_error():
    # In process: the test makes no DNS query (no network here); the message is what counts.
    import socket

    config = client.Config("https://secrets.example.invalid", TOKEN, "default", 30, None)
    failure = client.unreachable(config, socket.gaierror(-2, "Name or service not known"))
    assert failure.code == client.UNREACHABLE
    assert failure.message == (
        "cannot reach https://secrets.example.invalid: the name secrets.example.invalid could "
        "not be resolved (DNS: Name or service not known). Check the address (KOZMO_URL or "
        "--url) and your network")


def test_R20_https_to_a_plain_http_server_is_a_tls_error(stub):
    https = stub.url.replace("http://", "https://")
    failed(kozmo("get", "API_KEY", url=https), client.UNREACHABLE,
           f"TLS error talking to {https}", "plain HTTP")


def make_private_ca(directory):
    """A CA and a certificate it signed for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Kozmo test CA")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, encipher_only=False, decipher_only=False)

    def certificate(subject, key, *extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(ca_key, hashes.SHA256())

    ca = certificate(ca_name, ca_key,
                     (x509.BasicConstraints(ca=True, path_length=None), True),
                     (x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                    **usage), True),
                     (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False))
    server = certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), server_key,
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
         True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
         False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


@pytest.fixture
def private_ca_stub(tmp_path):
    import ssl

    ca, certificate, key = make_private_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = Stub(tls=context)
    server.answer(200, credentials_body({"API_KEY": "over TLS"}))
    yield server, ca
    server.close()


def test_R20_a_private_ca_is_a_tls_error_until_trusted(private_ca_stub, tmp_path):
    server, ca = private_ca_stub
    failed(kozmo("get", "API_KEY", url=server.url), client.UNREACHABLE,
           f"TLS error talking to {server.url}: the server's certificate was not accepted",
           "--ca-file /path/to/ca.pem", "KOZMO_CA_FILE")
    for done in (kozmo("get", "API_KEY", "--ca-file", str(ca), url=server.url),
                 kozmo("get", "API_KEY", url=server.url, env={"KOZMO_CA_FILE": str(ca)})):
        assert done.returncode == 0, done.stderr
        assert done.stdout == "over TLS\n"
    failed(kozmo("get", "API_KEY", "--ca-file", str(tmp_path / "nope.pem"), url=server.url),
           client.USAGE, "nope.pem (--ca-file or KOZMO_CA_FILE) does not exist")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    failed(kozmo("get", "API_KEY", "--ca-file", str(not_pem), url=server.url),
           client.USAGE, "cannot be read as PEM certificates")


# --- configuration errors and interruptions ----------------------------------------------


def test_R20_no_url_or_token_says_what_to_set(stub):
    failed(kozmo("get", "API_KEY"), client.USAGE,
           "kozmo: set KOZMO_URL to the server's address, e.g. https://secrets.example.com, "
           "or pass --url\n")
    failed(kozmo("get", "API_KEY", url=stub.url, token=None), client.USAGE,
           "kozmo: set KOZMO_TOKEN to an API token (kzs_...) or a service token (kzsvc_...), "
           "or pass --token\n")
    failed(kozmo("get", "API_KEY", url="http://secrets.example.com"), client.USAGE,
           "refusing to send the token over plain http")
    assert stub.requests == []


def test_R20_a_token_with_a_line_break_is_refused_without_showing_it(stub):
    done = kozmo("get", "API_KEY", url=stub.url, token=TOKEN[:10] + "\n" + TOKEN[10:])
    failed(done, client.USAGE, "holds a space, a line break")
    assert TOKEN[:10] not in done.stderr and TOKEN[10:] not in done.stderr
    assert stub.requests == []


def test_R20_a_usage_error_is_exit_2(stub):
    done = kozmo("env", "--format", "toml", url=stub.url)
    assert done.returncode == client.USAGE
    assert "kozmo env: error: argument --format: invalid choice" in done.stderr
    failed(kozmo("env", "--keys", " , ", url=stub.url), client.USAGE,
           "--keys needs at least one key name")
    failed(kozmo("get", "A,B", url=stub.url), client.USAGE, "kozmo get takes one key name")
    failed(kozmo("get", "A", "--profile", "", url=stub.url), client.USAGE,
           "--profile needs a profile name")
    assert stub.requests == []


def test_R20_ctrl_c_exits_130_quietly(stub):
    stub.delay = 10
    stub.answer(200, credentials_body({"API_KEY": "never"}))
    process = subprocess.Popen(
        [sys.executable, "-m", "kozmo_secrets.client", "get", "API_KEY"], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(KOZMO_URL=stub.url, KOZMO_TOKEN=TOKEN))
    try:
        assert stub.received.wait(30), "the client never asked"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == client.INTERRUPTED
    assert (stdout, stderr) == ("", "")


# --- end to end, against the live server --------------------------------------------------

end_to_end = pytest.mark.django_db(transaction=True)
PRODUCTION = {"POSTGRES_HOST": "db.internal",
              "POSTGRES_PASSWORD": "p'a\"s$s\\w\nord #1 😀 ",
              "POSTGRES_USER": "etl"}


@pytest.fixture
def served(admin_user, live_server):
    """Production's POSTGRES_* and an API_KEY, and a service token for POSTGRES_* in
    production: (its model, its key, the server's address)."""
    from secrets_app.access.service_tokens import create_service_token
    from secrets_app.services.secrets import create_secret

    for key, value in {**PRODUCTION, "API_KEY": "not for this token"}.items():
        create_secret(admin_user, name=f"production {key}", key=key, value=value,
                      profile="production")
    token, key = create_service_token(admin_user, name="etl", profiles=["production"],
                                      keys=["POSTGRES_*"])
    return token, key, live_server.url


def live(served_by, *argv):
    _, key, url = served_by
    done = kozmo(*argv, url=url, token=key)
    assert key not in done.stderr and key not in done.stdout
    return done


@end_to_end
def test_R20_end_to_end_get(served):
    done = live(served, "get", "POSTGRES_PASSWORD", "--profile", "production")
    assert done.returncode == 0, done.stderr
    assert done.stdout == PRODUCTION["POSTGRES_PASSWORD"] + "\n"
    missing = live(served, "get", "POSTGRES_PORT", "--profile", "production")
    failed(missing, client.NOT_FOUND, "not found in profile production: POSTGRES_PORT")


@end_to_end
@pytest.mark.parametrize("output_format", ["json", "yaml"])
def test_R20_end_to_end_env_every_key_in_scope(served, output_format):
    done = live(served, "--profile", "production", "env", "--format", output_format)
    assert done.returncode == 0, done.stderr
    # Every key the token may read in production: API_KEY is outside its key patterns.
    assert {"json": json.loads, "yaml": yaml.safe_load}[output_format](done.stdout) == PRODUCTION


@end_to_end
def test_R20_end_to_end_env_dotenv_with_keys(served):
    done = live(served, "env", "--profile", "production", "--keys",
                "POSTGRES_PASSWORD,POSTGRES_HOST")
    assert done.returncode == 0, done.stderr
    assert dotenv.dotenv_values(stream=io.StringIO(done.stdout)) == {
        key: PRODUCTION[key] for key in ("POSTGRES_HOST", "POSTGRES_PASSWORD")}


@end_to_end
def test_R20_end_to_end_run_passes_values_and_the_exit_status(served):
    child = ("import os, sys; print(os.environ['POSTGRES_HOST']); "
             "print(os.environ['POSTGRES_PASSWORD'] == {!r}); "
             "print('KOZMO_TOKEN' in os.environ); sys.exit(7)").format(
                 PRODUCTION["POSTGRES_PASSWORD"])
    done = live(served, "run", "--profile", "production", "--", sys.executable, "-c", child)
    assert done.returncode == 7, done.stderr
    assert done.stdout == "db.internal\nTrue\nFalse\n"


@end_to_end
def test_R20_end_to_end_outside_the_scope_is_refused_naming_the_key(served):
    failed(live(served, "get", "API_KEY", "--profile", "production"), client.REFUSED,
           "the token may not read API_KEY in profile production")
    failed(live(served, "env", "--profile", "production", "--keys", "POSTGRES_HOST,API_KEY"),
           client.REFUSED, "API_KEY in profile production")
    failed(live(served, "env", "--profile", "staging"), client.REFUSED, "profile staging")


@end_to_end
def test_R20_end_to_end_a_revoked_token_is_not_authenticated(served, admin_user):
    from secrets_app.access.service_tokens import revoke_service_token

    assert live(served, "get", "POSTGRES_HOST", "--profile", "production").returncode == 0
    revoke_service_token(served[0], admin_user)
    failed(live(served, "get", "POSTGRES_HOST", "--profile", "production"),
           client.NOT_AUTHENTICATED, "not valid, has expired or was revoked")


@end_to_end
def test_R20_end_to_end_a_bad_key_name_is_the_servers_field_message(served):
    failed(live(served, "get", "lower_case", "--profile", "production"), client.BAD_ANSWER,
           "the server refused the request (400): keys: Not key names: 'lower_case'")


# --- issue 13: the client against hostile servers and environments ------------------------


@pytest.mark.parametrize(("url", "direct"), [
    ("http://localhost:8000/api/v1/credentials/", True),
    ("http://127.0.0.5:8000/x", True),
    ("https://127.0.0.1:8443/x", True),
    ("https://[::1]:8443/x", True),
    ("https://localhost/x", True),
    ("http://secrets.internal/x", True),  # --insecure-http: never through a proxy either
    ("https://secrets.example.com/x", False),
])
def test_I13_plain_http_and_this_machine_never_go_through_a_proxy(url, direct):
    assert client.uses_no_proxy(url) is direct


def test_I13_https_to_this_machine_ignores_https_proxy(private_ca_stub):
    server, ca = private_ca_stub
    proxy = Stub()
    try:
        proxy.answer(200, credentials_body({"API_KEY": "via the proxy"}))
        done = kozmo("get", "API_KEY", "--ca-file", str(ca), url=server.url,
                     env={"HTTPS_PROXY": proxy.url, "https_proxy": proxy.url})
        assert done.returncode == 0, done.stderr
        assert done.stdout == "over TLS\n"
        assert proxy.requests == []
    finally:
        proxy.close()


@pytest.mark.parametrize(("raw", "seconds"), [
    ("\u00b2", None), ("\u0663", None), ("\uff17", None), ("1.5", None), ("-3", None),
    ("007", 7), ("0", 0), ("9" * 5000, 10 ** 12),
    ("Fri, 31 Dec 99999 23:59:59 GMT", None), ("Mon, 99 Foo 2020 99:99:99 GMT", None),
])
def test_I13_retry_after_reads_only_ascii_seconds_and_never_raises(raw, seconds):
    assert client.retry_after({"Retry-After": raw}) == seconds


def test_I13_a_retry_after_of_thousands_of_digits_is_too_long_a_wait(stub):
    stub.answer(429, {"detail": "slow down"}, headers={"Retry-After": "9" * 5000})
    failed(kozmo("get", "API_KEY", url=stub.url), client.RATE_LIMITED,
           "longer than kozmo waits (60 s)")
    assert len(stub.requests) == 1


@pytest.mark.parametrize("status", [200, 401, 403, 500])
def test_I13_deeply_nested_json_is_a_bad_answer_whatever_the_status(stub, status):
    stub.answer(status, b"[" * 100_000, headers={"Content-Type": "application/json"})
    done = kozmo("get", "API_KEY", url=stub.url)
    failed(done, client.BAD_ANSWER, f"the server's answer ({status}) is JSON nested too "
           "deeply to read")
    assert "Traceback" not in done.stderr


def test_I13_an_answer_over_32_mib_is_a_bad_answer(stub):
    stub.answer(200, b" " * (client.MAX_BODY + 1), headers={"Content-Type": "application/json"})
    failed(kozmo("get", "API_KEY", url=stub.url), client.BAD_ANSWER,
           "the server's answer is larger than 32 MiB")
    assert client.MAX_BODY == 32 * 1024 * 1024


def test_I13_an_answer_of_exactly_the_cap_is_read(stub):
    body = json.dumps(credentials_body({"API_KEY": "padded"})).encode("utf-8")
    stub.answer(200, body + b" " * (client.MAX_BODY - len(body)),
                headers={"Content-Type": "application/json"})
    done = kozmo("get", "API_KEY", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "padded\n"


def test_I13_env_and_get_keep_only_the_keys_asked_for(stub):
    stub.answer(200, credentials_body({"A": "1", "B": "2", "EXTRA": "not asked"}))
    done = kozmo("env", "--keys", "B,A", "--format", "json", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"A": "1", "B": "2"}
    done = kozmo("get", "A", url=stub.url)
    assert done.stdout == "1\n"


@pytest.mark.parametrize("name", [
    "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND",
    "CDPATH", "GLOBIGNORE", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES",
    "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONWARNINGS", "PERL5LIB", "PERL5OPT",
    "PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "GCONV_PATH", "LOCPATH", "NLSPATH",
    "HOSTALIASES", "MALLOC_CHECK_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "BASH_FUNC_ls%%",
    "path", "Ld_Preload", "ZDOTDIR", "LUA_INIT", "PATHEXT",
])
def test_I13_names_that_change_how_programs_start_are_unsafe(name):
    assert client.is_unsafe_env_name(name)


@pytest.mark.parametrize("name", [
    "API_KEY", "POSTGRES_PASSWORD", "HOME", "TMPDIR", "LANG", "TZ", "PATHWAY_TOKEN",
    "MY_PATH", "ENVIRONMENT", "LDAP_PASSWORD", "NODE_ENV", "PYTH", "KOZMO_URL",
])
def test_I13_ordinary_names_are_not_unsafe(name):
    assert not client.is_unsafe_env_name(name)


CHILD_SHOWS = ("import json, os; print(json.dumps({k: os.environ.get(k) for k in "
               "('API_KEY', 'PYTHONWARNINGS', 'NODE_OPTIONS', 'KEPT')}))")


def test_I13_run_does_not_set_unsafe_names_and_says_which(stub):
    stub.answer(200, credentials_body({"API_KEY": "v", "PYTHONWARNINGS": "secret-pw-value",
                                       "NODE_OPTIONS": "--require /tmp/evil.js"}))
    done = kozmo("run", "--", sys.executable, "-c", CHILD_SHOWS, url=stub.url,
                 env={"KEPT": "k", "NODE_OPTIONS": "--max-old-space-size=64"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"API_KEY": "v", "PYTHONWARNINGS": None,
                                       "NODE_OPTIONS": "--max-old-space-size=64", "KEPT": "k"}
    assert done.stderr == (
        "kozmo: not setting NODE_OPTIONS, PYTHONWARNINGS in CMD's environment: they change how "
        "programs start or where they are found (--allow-env NAME sets one on purpose)\n")
    assert "secret-pw-value" not in done.stderr and "evil" not in done.stderr


def test_I13_run_allow_env_sets_a_named_one_on_purpose(stub):
    stub.answer(200, credentials_body({"API_KEY": "v", "PYTHONWARNINGS": "ignore",
                                       "NODE_OPTIONS": "--require x"}))
    done = kozmo("run", "--allow-env", "PYTHONWARNINGS", "--", sys.executable, "-c",
                 CHILD_SHOWS, url=stub.url)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["PYTHONWARNINGS"], shown["NODE_OPTIONS"]) == ("ignore", None)
    assert "not setting NODE_OPTIONS in CMD's environment: it changes" in done.stderr
    both = kozmo("run", "--allow-env", "PYTHONWARNINGS", "--allow-env", " NODE_OPTIONS ", "--",
                 sys.executable, "-c", CHILD_SHOWS, url=stub.url)
    assert both.returncode == 0, both.stderr
    assert both.stderr == ""
    assert json.loads(both.stdout)["NODE_OPTIONS"] == "--require x"
    bad = kozmo("run", "--allow-env", "NOT A NAME", "--", "true", url=stub.url)
    assert bad.returncode == client.USAGE
    assert "give one variable name" in bad.stderr


def test_I13_env_output_is_data_and_keeps_unsafe_names(stub):
    stub.answer(200, credentials_body({"PATH": "/opt/x", "LD_PRELOAD": "lib.so"}))
    done = kozmo("env", "--format", "json", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"LD_PRELOAD": "lib.so", "PATH": "/opt/x"}
    assert done.stderr == ""


ESCAPES = "x\x1b]52;c;cHduZWQ=\x07\x1b[2J\u009b31m\x00\x7f"


def test_I13_env_dotenv_to_a_pipe_or_file_is_written_whole(stub):
    stub.answer(200, credentials_body({"API_KEY": ESCAPES}))
    done = kozmo("env", url=stub.url)
    assert done.returncode == 0, done.stderr
    assert dotenv.dotenv_values(stream=io.StringIO(done.stdout)) == {"API_KEY": ESCAPES}


@pytest.mark.parametrize("output_format", ["json", "yaml"])
def test_I13_env_json_and_yaml_to_a_terminal_are_escaped(stub, output_format):
    stub.answer(200, credentials_body({"API_KEY": ESCAPES}))
    code, shown, stderr = on_a_terminal("env", "--format", output_format, url=stub.url)
    assert code == 0, stderr
    assert not any(ch in shown for ch in "\x1b\u009b\x00\x07"), ascii(shown)


def test_I13_env_dotenv_to_a_terminal_allows_what_dotenv_escapes(stub):
    # \t \n \r \a \b \f \v are written as escapes: nothing raw reaches the terminal.
    stub.answer(200, credentials_body({"API_KEY": "a\tb\nc\rd\ae\bf\fg\vh"}))
    code, shown, stderr = on_a_terminal("env", url=stub.url)
    assert code == 0, stderr
    assert 'API_KEY="a\\tb\\nc\\rd\\ae\\bf\\fg\\vh"' in shown


def test_I13_env_dotenv_to_a_terminal_refuses_a_c1_control_naming_the_key(stub):
    stub.answer(200, credentials_body({"FINE": "ok", "SNEAKY": "csi \u009b2J"}))
    code, shown, stderr = on_a_terminal("env", url=stub.url)
    assert code == client.USAGE
    assert shown == ""
    assert stderr == (
        "kozmo: SNEAKY's value holds a control character (such as ESC) that dotenv cannot "
        "escape, and stdout is a terminal: redirect to a file (kozmo env > .env), or use "
        "--format json or yaml\n")


class SlowHeadersHandler(http.server.BaseHTTPRequestHandler):
    """Headers one line every 0.3 s, forever: each read is quick, the answer never ends."""

    def do_GET(self):
        self.send_response(200)
        self.flush_headers()  # the status line now; then the headers trickle
        try:
            for number in range(1000):
                self.wfile.write(f"X-Slow-{number}: 1\r\n".encode())
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_I13_timeout_is_a_deadline_for_trickled_headers_too():
    server = QuietServer(("127.0.0.1", 0), SlowHeadersHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        started = time.monotonic()
        done = kozmo("get", "API_KEY", "--timeout", "1.5", url=url, timeout=30)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    failed(done, client.UNREACHABLE, f"timed out after 1.5 s waiting for {url}")
    assert took < 8, took


# --- issue 13: a newcomer's first errors --------------------------------------------------

DEFAULT_NOT_ASKED = ("default's entries were not asked: this token may not read default")


@pytest.mark.parametrize(("given_url", "first", "then"), [
    ("127.0.0.1:8000", "http://127.0.0.1:8000", "https://127.0.0.1:8000"),
    ("localhost:8000/kozmo", "http://localhost:8000/kozmo", "https://localhost:8000/kozmo"),
    ("[::1]:8000", "http://[::1]:8000", "https://[::1]:8000"),
    ("::1", "http://[::1]", "https://[::1]"),
    ("127.0.0.5", "http://127.0.0.5", "https://127.0.0.5"),
])
def test_I13_a_local_address_without_scheme_is_offered_plain_http_first(given_url, first, then):
    with pytest.raises(client.Failure) as refused:
        client.server_url(given_url, False)
    message = refused.value.message
    assert refused.value.code == client.USAGE
    assert f"use {first} for a server on this machine that serves plain http, as make run " \
           f"does, or {then} if it serves TLS" in message, message
    assert message.index(first) < message.index(then)


@pytest.mark.parametrize("given_url", ["db.internal:8000", "10.0.0.5:8000",
                                       "secrets.example.com", "[::2]:8000"])
def test_I13_another_host_without_scheme_is_still_offered_https_only(given_url):
    with pytest.raises(client.Failure) as refused:
        client.server_url(given_url, False)
    assert refused.value.message.startswith(
        "the server's address (KOZMO_URL or --url) must start with https://, e.g. https://"
        + given_url + " (http:// only for a server on this machine")


def test_I13_a_local_address_without_scheme_from_the_command_line(stub):
    done = kozmo("get", "API_KEY", url="127.0.0.1:8000")
    failed(done, client.USAGE, "use http://127.0.0.1:8000 for a server on this machine")
    assert stub.requests == []


def test_I13_not_found_without_fallback_says_default_was_not_asked(stub):
    stub.answer(200, credentials_body({"POSTGRES_HOST": "h"}, missing=["POSTGRES_PASSWORD"],
                                      profile="production", fallback=False))
    done = kozmo("get", "POSTGRES_PASSWORD", "--profile", "production", url=stub.url)
    failed(done, client.NOT_FOUND,
           "kozmo: not found in profile production: POSTGRES_PASSWORD (" + DEFAULT_NOT_ASKED
           + ". Check the spelling, or ask an admin to store it in production)\n")
    done = kozmo("env", "--profile", "production", "--keys", "POSTGRES_HOST,A,B", url=stub.url)
    failed(done, client.NOT_FOUND, "not found in profile production: A, B (" + DEFAULT_NOT_ASKED
           + ". Check the spelling, or ask an admin to store them in production)")


@pytest.mark.parametrize(("profile", "fallback"), [("production", True), ("production", None),
                                                   ("default", False)])
def test_I13_not_found_with_fallback_or_from_an_older_server_is_as_before(
        stub, profile, fallback):
    # fallback None: a server from before the field; `default` itself has nothing to fall to.
    stub.answer(200, credentials_body({}, missing=["B"], profile=profile, fallback=fallback))
    done = kozmo("get", "B", "--profile", profile, url=stub.url)
    failed(done, client.NOT_FOUND, f"not found in profile {profile}: B (no source holds it; "
           "check the spelling and the profile)")
    assert "default's entries" not in done.stderr


def test_I13_a_whole_profile_refused_without_profile_suggests_the_profile_flag(stub, tmp_path):
    stub.answer(403, {"detail": "Admin privileges required", "refused": [{"profile": "default"}]})
    marker = tmp_path / "ran"
    done = kozmo("run", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')", url=stub.url)
    failed(done, client.REFUSED,
           "kozmo: refused (403): the token may not read profile default. --profile was left "
           "out, so kozmo asked for profile default: name the profile the service token was "
           "made for with --profile NAME\n")
    assert "leave those keys out" not in done.stderr
    assert not marker.exists()
    # A person's API token has grants, not a profile it was made for.
    done = kozmo("env", url=stub.url, token="kzs_a-person-token")
    failed(done, client.REFUSED, "name a profile you hold a grant on with --profile NAME")


@pytest.mark.parametrize("profile", ["staging", "default"])
def test_I13_a_whole_profile_refused_when_named_says_to_check_it(stub, profile):
    stub.answer(403, {"detail": "Admin privileges required", "refused": [{"profile": profile}]})
    done = kozmo("env", "--profile", profile, url=stub.url)
    failed(done, client.REFUSED,
           f"kozmo: refused (403): the token may not read profile {profile}. Check --profile: "
           "name the profile the service token was made for, or ask an admin to add "
           f"{profile} to the service token's profiles or your grants\n")
    assert "leave those keys out" not in done.stderr


def test_I13_keys_refused_in_default_without_profile_suggest_both(stub):
    stub.answer(403, {"detail": "Admin privileges required",
                      "refused": [{"key": "API_KEY", "profile": "default"}]})
    done = kozmo("get", "API_KEY", url=stub.url)
    failed(done, client.REFUSED, "the token may not read API_KEY in profile default. "
           "--profile was left out, so kozmo asked for profile default: name the profile the "
           "service token was made for with --profile NAME. Ask an admin to widen the service "
           "token's scope or your grants, or leave those keys out\n")


@pytest.mark.parametrize("output_format", ["dotenv", "json", "yaml"])
def test_I13_env_with_no_credentials_at_all_is_not_found(stub, output_format):
    stub.answer(200, credentials_body({}, profile="production", fallback=True))
    done = kozmo("env", "--profile", "production", "--format", output_format, url=stub.url)
    failed(done, client.NOT_FOUND,
           "kozmo: no credentials in profile production that this token may read. Check the "
           "profile (--profile), and ask an admin which keys the token's scope covers there\n")


def test_I13_run_with_no_credentials_at_all_is_not_found_and_cmd_is_not_run(stub, tmp_path):
    stub.answer(200, credentials_body({}, profile="production", fallback=False))
    marker = tmp_path / "ran"
    done = kozmo("run", "--profile", "production", "--", sys.executable, "-c",
                 f"open({str(marker)!r}, 'w')", url=stub.url)
    failed(done, client.NOT_FOUND, "kozmo: no credentials in profile production that this "
           "token may read (" + DEFAULT_NOT_ASKED + "). Check the profile")
    assert not marker.exists()


def test_I13_the_token_check_trims_blanks_at_either_end_and_refuses_any_inside(stub):
    stub.answer(200, credentials_body({"API_KEY": "ok"}))
    done = kozmo("get", "API_KEY", url=stub.url, token=" \t" + TOKEN + "\r\n")
    assert done.returncode == 0, done.stderr
    assert stub.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    for inside in (" ", "\t", "\u00e9", "\x7f"):
        done = kozmo("get", "API_KEY", url=stub.url, token=TOKEN[:10] + inside + TOKEN[10:])
        failed(done, client.USAGE, "holds a space, a line break or a character outside ASCII")
    assert len(stub.requests) == 1


def test_I13_the_help_says_where_the_guide_is_for_a_copied_file(tmp_path):
    shutil.copy(CLIENT, tmp_path / "client.py")
    shown = subprocess.run([sys.executable, "-I", "client.py", "--help"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, env=clean_env())
    assert "Guide: docs/client.md in the Kozmo Secrets repository." in " ".join(
        shown.stdout.split())


@end_to_end
def test_I13_end_to_end_what_the_production_token_meets_without_default(
        served, admin_user, live_server):
    """The `etl` token reads production only: a key only `default` holds is not found there
    (default was not asked); without --profile, run is refused with the --profile hint; a
    token whose patterns match nothing stored gets exit 4 from env and run."""
    from secrets_app.access.service_tokens import create_service_token
    from secrets_app.services.secrets import create_secret

    create_secret(admin_user, name="POSTGRES_PORT", key="POSTGRES_PORT", value="5432")
    failed(live(served, "get", "POSTGRES_PORT", "--profile", "production"), client.NOT_FOUND,
           "not found in profile production: POSTGRES_PORT (" + DEFAULT_NOT_ASKED)
    failed(live(served, "run", "--", sys.executable, "-c", "pass"), client.REFUSED,
           "may not read profile default. --profile was left out", "--profile NAME")
    _, empty = create_service_token(admin_user, name="nothing", profiles=["production"],
                                    keys=["REDSHIFT_*"])
    nothing = (None, empty, live_server.url)
    failed(live(nothing, "env", "--profile", "production"), client.NOT_FOUND,
           "no credentials in profile production that this token may read ("
           + DEFAULT_NOT_ASKED + ")")
    failed(live(nothing, "run", "--profile", "production", "--", sys.executable, "-c", "pass"),
           client.NOT_FOUND, "no credentials in profile production")


def docs_block(starting):
    """The bash block of docs/client.md that starts with `starting`, as printed."""
    text = (REPO / "docs" / "client.md").read_text(encoding="utf-8")
    blocks = text.split("```bash\n")[1:]
    found = [block.split("```", 1)[0] for block in blocks if block.startswith(starting)]
    assert len(found) == 1, starting
    return found[0]


def shell(script, stub):
    """bash running `script` with .venv/bin's kozmo first on PATH, and a psql that shows its
    PGPASSWORD."""
    path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    return subprocess.run(["bash", "-c", 'psql() { echo "psql ran with [$PGPASSWORD]"; }\n'
                           + script], capture_output=True, text=True, timeout=60,
                          env=clean_env(PATH=path, KOZMO_URL=stub.url, KOZMO_TOKEN=TOKEN))


def test_I13_docs_set_e_and_a_separate_assignment_keep_kozmos_status(stub):
    block = docs_block("set -e\nPGPASSWORD=$(kozmo get")
    stub.answers = [(401, {}, b"{}")]
    done = shell(block, stub)
    assert done.returncode == client.NOT_AUTHENTICATED, done.stderr
    assert "psql ran" not in done.stdout
    # What the docs warn about: on one line, psql runs anyway with an empty password.
    lost = shell("set -e\nPGPASSWORD=$(kozmo get POSTGRES_PASSWORD) psql -h db etl", stub)
    assert (lost.returncode, lost.stdout) == (0, "psql ran with []\n")
    stub.answers = []
    stub.answer(200, credentials_body({"POSTGRES_PASSWORD": "pw"}, profile="production"))
    done = shell(block, stub)
    assert (done.returncode, done.stdout) == (0, "psql ran with [pw]\n"), done.stderr


def test_I13_docs_writing_a_file_keeps_the_old_one_when_kozmo_fails(stub, tmp_path):
    block = docs_block("if (umask 077 && kozmo get").replace("/run/etl/", f"{tmp_path}/")
    target = tmp_path / "tls.key"
    target.write_text("the good old key")
    stub.answers = [(401, {}, b"{}")]
    done = shell(block, stub)
    assert done.returncode == 1
    assert target.read_text() == "the good old key"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tls.key"]
    stub.answers = []
    stub.answer(200, credentials_body({"TLS_KEY": "-----BEGIN KEY-----\n"},
                                      profile="production"))
    done = shell(block, stub)
    assert done.returncode == 0, done.stderr
    assert target.read_text() == "-----BEGIN KEY-----\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tls.key"]
