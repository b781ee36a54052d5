"""Outside security review of issue 13 (R20): the `kozmo` client against hostile servers and
hostile environments. Each test FAILS while the hole is open."""

import http.server
import resource
import subprocess
import sys
import threading

import pytest

from tests.test_r20_client import (
    REPO,
    TOKEN,
    QuietServer,
    Stub,
    clean_env,
    credentials_body,
    kozmo,
    on_a_terminal,
)


def no_traceback(done):
    assert "Traceback" not in done.stderr, done.stderr[-600:]
    assert done.stderr.startswith("kozmo: "), done.stderr[-600:]


# --- C1 (medium): http://localhost goes through HTTP_PROXY, token in clear text -----------


@pytest.mark.parametrize("variable", ["http_proxy", "HTTP_PROXY"])
def test_C1_plain_http_to_this_machine_is_sent_to_the_proxy_with_the_token(stub, variable):
    """docs/client.md: 'Plain http:// is accepted only for this machine'. urllib's default
    ProxyHandler sends a request for http://localhost:8000 to $http_proxy (no NO_PROXY for
    localhost is needed to trigger it): the Bearer token and the values cross the network to
    the proxy unencrypted, which is what refusing http:// to other hosts is meant to stop."""
    proxy = Stub()
    try:
        proxy.answer(200, credentials_body({"API_KEY": "via the proxy"}))
        stub.answer(200, credentials_body({"API_KEY": "direct"}))
        port = stub.server.server_port
        done = kozmo("get", "API_KEY", url=f"http://localhost:{port}",
                     env={variable: proxy.url})
        seen = [r["headers"].get("Authorization", "") for r in proxy.requests]
        assert not any(TOKEN in header for header in seen), (
            f"the proxy at {proxy.url} received the token: {proxy.requests[:1]}")
        assert done.stdout == "direct\n", (done.returncode, done.stdout, done.stderr)
    finally:
        proxy.close()


# --- C2 (low): hostile answers crash the client with a traceback ----------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_C2_a_retry_after_of_unicode_digits_crashes_the_client(stub, status):
    """retry_after(): '²'.isdigit() is True, int('²') raises ValueError: a traceback (exit 1),
    not exit 7/8 with a `kozmo: ` line."""
    stub.answer(status, {"detail": "slow down"}, headers={"Retry-After": "\u00b2"})
    done = kozmo("get", "API_KEY", url=stub.url)
    no_traceback(done)
    assert done.returncode in (7, 8), done.returncode


def test_C2b_a_deeply_nested_json_answer_crashes_the_client(stub):
    """json_of() catches ValueError only: a 200 of 100 000 '[' is a RecursionError
    traceback, not exit 8."""
    stub.answer(200, b"[" * 100_000, headers={"Content-Type": "application/json"})
    done = kozmo("get", "API_KEY", url=stub.url)
    no_traceback(done)
    assert done.returncode == 8, done.returncode


# --- C3 (low): an endless answer is read whole into memory ---------------------------------


class EndlessHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            for _ in range(1200):  # 1.2 GB of JSON whitespace
                self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_C3_an_endless_answer_exhausts_the_clients_memory():
    """send(): response.read() with no bound. A hostile or broken server (or anything on the
    path for --insecure-http) makes kozmo buffer the whole body: with a 700 MB address-space
    limit it dies with MemoryError. Expected: a bounded read and exit 8."""
    server = QuietServer(("127.0.0.1", 0), EndlessHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (700 << 20, 700 << 20))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "kozmo_secrets.client", "get", "API_KEY"], cwd=REPO,
            capture_output=True, text=True, timeout=120, preexec_fn=limit,
            env=clean_env(KOZMO_URL=f"http://127.0.0.1:{server.server_port}",
                          KOZMO_TOKEN=TOKEN))
    finally:
        server.shutdown()
        server.server_close()
    no_traceback(done)
    assert done.returncode == 8, (done.returncode, done.stderr[-400:])


# --- C4 (medium): `kozmo run --keys A` passes whatever else the server sends -------------


def test_C4_run_with_keys_puts_unasked_server_keys_in_the_childs_environment(stub, tmp_path):
    """With --keys POSTGRES_HOST the client checks the asked key is there, then puts EVERY
    key of the answer into CMD's environment: a hostile server (or one reached through the
    proxy of C1) adds LD_PRELOAD / PATH / PYTHONPATH / BASH_ENV and runs code as the caller."""
    stub.answer(200, credentials_body({"POSTGRES_HOST": "db.internal",
                                       "BASH_ENV": str(tmp_path / "evil.sh"),
                                       "PYTHONPATH": str(tmp_path)}))
    done = kozmo("run", "--keys", "POSTGRES_HOST", "--", sys.executable, "-c",
                 "import os; print(os.environ.get('BASH_ENV'), os.environ.get('PYTHONPATH'))",
                 url=stub.url)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) not in done.stdout, done.stdout


# --- C5 (low): a stored credential can replace PATH / LD_PRELOAD of every `kozmo run` -------


@pytest.mark.parametrize("name", ["PATH", "LD_PRELOAD", "PYTHONPATH", "BASH_ENV"])
def test_C5_run_lets_a_credential_replace_the_loader_and_path_variables(stub, name, tmp_path):
    """KEY_PATTERN accepts PATH, LD_PRELOAD, PYTHONPATH, BASH_ENV; an editor of a profile
    stores one, and every `kozmo run` (no --keys) of that profile executes what it points
    at. Expected: kozmo run refuses (or at least does not silently apply) variables that
    change which code runs."""
    stub.answer(200, credentials_body({"API_KEY": "v", name: str(tmp_path)}))
    done = kozmo("run", "--", sys.executable, "-c",
                 f"import os; print(os.environ.get({name!r}))", url=stub.url)
    assert str(tmp_path) not in done.stdout, (done.returncode, done.stdout, done.stderr)


# --- C6 (low): `kozmo env` (dotenv, the default) writes raw terminal escapes -------------


def test_C6_env_dotenv_passes_raw_escape_sequences_to_the_terminal(stub):
    """json and yaml escape every control character; dotenv escapes only \\n \\r \\t \\a \\b
    \\f \\v, so ESC (and the rest of C0, and C1 like U+009B CSI) reaches the terminal raw
    from `kozmo env`: a value stored by anyone who may write the profile can set the title,
    rewrite the screen or (OSC 52) the clipboard of whoever lists the credentials. python-
    dotenv has no escape for it, so the safe answer is to refuse it as '${' is refused.
    (Adjusted with the fix: the refusal is for a terminal, which is where escapes act; to a
    file or a pipe the output is data and stays complete, tested in test_r20_client.)"""
    stub.answer(200, credentials_body({"API_KEY": "x\x1b]0;pwned\x07\x1b[2J\u009b31m"}))
    code, shown, stderr = on_a_terminal("env", url=stub.url)
    assert "\x1b" not in shown and "\u009b" not in shown, (code, ascii(shown))
    assert code == 2, (code, stderr)
    assert stderr.startswith("kozmo: API_KEY's value holds a control character"), stderr
    assert "--format json" in stderr and "pwned" not in stderr


# --- C7 (low): --timeout does not bound a trickling answer ---------------------------------


class TrickleHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        import time as _time

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "200")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                _time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_C7_timeout_does_not_bound_a_trickling_answer():
    """--timeout is per socket read: a server (or anything in the path) that sends one byte
    every half second keeps `kozmo run` from starting (or failing) for as long as it likes.
    With --timeout 2 the client should give up (exit 3) within a few seconds."""
    server = QuietServer(("127.0.0.1", 0), TrickleHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "kozmo_secrets.client", "get", "API_KEY",
                 "--timeout", "2"], cwd=REPO, capture_output=True, text=True, timeout=15,
                env=clean_env(KOZMO_URL=f"http://127.0.0.1:{server.server_port}",
                              KOZMO_TOKEN=TOKEN))
        except subprocess.TimeoutExpired:
            pytest.fail("kozmo --timeout 2 was still waiting after 15 s")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 3, (done.returncode, done.stderr)
