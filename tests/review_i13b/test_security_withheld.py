"""B11 (low): child_env.withheld() holds back five proxy names (HTTP_, HTTPS_, ALL_, FTP_,
NO_PROXY) "always: a proxy's URL may hold its password", but Python's own rule (urllib's
getproxies_environment, which requests and botocore follow) takes ANY <scheme>_PROXY as the
proxy for that scheme: SOCKS_PROXY, WS_PROXY/WSS_PROXY, RSYNC_PROXY... are the server's proxy
settings too, with their passwords, and the environment source serves them. FAILS while open."""

import urllib.request

import pytest

from secrets_app.child_env import withheld

pytestmark = pytest.mark.django_db

URL = "/api/v1/credentials/"


@pytest.mark.parametrize("name", ["SOCKS_PROXY", "SOCKS5_PROXY", "WSS_PROXY", "RSYNC_PROXY"])
def test_B11_every_scheme_proxy_is_withheld(name, monkeypatch, admin_api):
    monkeypatch.setenv(name, "socks5://svc:PROXY-PASSWORD-CANARY@proxy.internal:1080")
    scheme = name[:-len("_PROXY")].lower()
    assert scheme in urllib.request.getproxies_environment()  # Python: the server's proxy
    assert withheld(name), f"{name} is answered from the server's environment"
    response = admin_api.get(URL, {"keys": name})
    assert response.status_code == 200
    assert "CANARY" not in response.content.decode(), response.json()
