"""kozmo with a proxy in the environment, as on many company laptops and CI runners
(issue 13, R20; docs/client.md "The address" and "Security notes")."""

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "kzsvc_Proxy-Must-Not-See-This-4242"


def test_newcomer_a_loopback_server_is_not_reached_through_http_proxy():
    """docs/client.md: "Plain `http://` is accepted only for this machine (`localhost`,
    `127.0.0.0/8`, `::1`: `make run` serves `http://127.0.0.1:8000`)", because the token and
    values then never cross a network. With `http_proxy` set (and no NO_PROXY), kozmo sent
    `GET http://127.0.0.1:8000/api/v1/credentials/...` with `Authorization: Bearer <token>`
    in plain text to the proxy, and then reported "http://127.0.0.1:8000 did not answer
    HTTP". A loopback address should bypass the proxy (or kozmo should refuse)."""
    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen()
    proxy.settimeout(10)
    seen = []

    def accept():
        try:
            conn, _ = proxy.accept()
            seen.append(conn.recv(4096).decode(errors="replace"))
            conn.close()
        except OSError:
            pass

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    proxy_url = f"http://127.0.0.1:{proxy.getsockname()[1]}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOZMO_") and "proxy" not in k.lower()}
    # Nothing listens on the server's port: kozmo should say so, having asked it directly.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    server_port = free.getsockname()[1]
    free.close()
    env.update(KOZMO_URL=f"http://127.0.0.1:{server_port}", KOZMO_TOKEN=TOKEN,
               http_proxy=proxy_url, HTTP_PROXY=proxy_url)
    subprocess.run([sys.executable, "-m", "kozmo_secrets.client", "get", "POSTGRES_PASSWORD",
                    "--timeout", "3"], cwd=REPO, env=env, capture_output=True, text=True,
                   timeout=30)
    proxy.close()
    listener.join(5)
    assert not any(TOKEN in request for request in seen), seen
