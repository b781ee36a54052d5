"""The AWS Secrets Manager loader (R5.3) against moto's server mode: real boto3, real HTTP."""

import json
import socket
import threading
import time

import pytest

from secrets_app.sources.aws import AWSSecretLoader
from secrets_app.sources.chain import default_loaders, resolve

pytestmark = pytest.mark.django_db


def test_R5_3_a_plain_string_secret(aws):
    aws.create_secret(Name="kozmo/default/API_TOKEN", SecretString="from-aws")
    assert AWSSecretLoader().get("API_TOKEN").reveal() == "from-aws"


def test_R5_3_a_json_secret_string_holds_several_keys(aws):
    aws.create_secret(
        Name="kozmo/production",
        SecretString=json.dumps({"POSTGRES_USER": "etl", "POSTGRES_PORT": 5432,
                                 "GOOGLE_SERVICE_ACC_KEY": {"type": "service_account"}}),
    )
    loader = AWSSecretLoader()
    assert loader.get("POSTGRES_USER", "production").reveal() == "etl"
    assert loader.get("POSTGRES_PORT", "production").reveal() == "5432"
    assert json.loads(loader.get("GOOGLE_SERVICE_ACC_KEY", "production").reveal()) == {
        "type": "service_account"
    }
    assert loader.get("POSTGRES_HOST", "production") is None


def test_R5_3_a_per_key_secret_may_be_json_too(aws):
    aws.create_secret(Name="kozmo/default/API_TOKEN", SecretString='{"API_TOKEN": "inner"}')
    assert AWSSecretLoader().get("API_TOKEN").reveal() == "inner"


def test_R5_5_a_profile_falls_back_to_default(aws):
    aws.create_secret(Name="kozmo/default", SecretString='{"API_TOKEN": "default-one"}')
    assert AWSSecretLoader().get("API_TOKEN", "staging").reveal() == "default-one"


def test_R5_3_the_prefix_comes_from_settings(aws, settings):
    settings.SECRETS_AWS_PREFIX = "team-a/"
    aws.create_secret(Name="team-a/default/API_TOKEN", SecretString="prefixed")
    aws.create_secret(Name="kozmo/default/API_TOKEN", SecretString="other-prefix")
    assert AWSSecretLoader().get("API_TOKEN").reveal() == "prefixed"


def test_answers_are_cached_for_the_configured_time(aws, settings):
    aws.create_secret(Name="kozmo/default/API_TOKEN", SecretString="first")
    loader = AWSSecretLoader()
    assert loader.get("API_TOKEN").reveal() == "first"
    aws.put_secret_value(SecretId="kozmo/default/API_TOKEN", SecretString="second")
    assert loader.get("API_TOKEN").reveal() == "first"  # cached
    assert AWSSecretLoader(cache_seconds=0).get("API_TOKEN").reveal() == "second"


def test_misses_are_cached_too(aws, monkeypatch):
    loader = AWSSecretLoader()
    assert loader.get("API_TOKEN") is None
    calls = []
    real = loader._fetch_uncached
    monkeypatch.setattr(loader, "_fetch_uncached", lambda sid: calls.append(sid) or real(sid))
    assert loader.get("API_TOKEN") is None
    assert calls == []


def test_without_a_region_aws_is_not_asked(settings):
    settings.SECRETS_AWS_REGION = ""
    loader = AWSSecretLoader()
    assert not loader.enabled
    assert loader.get("API_TOKEN") is None


def test_R5_4_the_resolver_reaches_aws_last(aws, monkeypatch):
    aws.create_secret(Name="kozmo/default", SecretString='{"A_KEY": "aws", "B_KEY": "aws"}')
    monkeypatch.setenv("A_KEY", "env")
    default_loaders.cache_clear()
    assert resolve("A_KEY").source == "environment"
    assert resolve("B_KEY").source == "aws"
    assert resolve("B_KEY").value.reveal() == "aws"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _finishes(call, within: float) -> tuple[bool, object]:
    """Run call in a thread; did it finish in time (a hang check, not a speed test)?"""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(within)
    return not thread.is_alive(), result.get("value")


def test_a_dead_endpoint_is_not_found_with_a_warning_and_the_chain_goes_on(
    aws, settings, monkeypatch, caplog
):
    settings.SECRETS_AWS_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    settings.SECRETS_AWS_TIMEOUT_SECONDS = 1
    settings.SECRETS_AWS_MAX_ATTEMPTS = 1
    monkeypatch.setenv("B_KEY", "env")
    default_loaders.cache_clear()
    finished, resolution = _finishes(lambda: resolve("A_KEY"), within=30)
    assert finished
    assert resolution.source is None
    assert "unreachable" in caplog.text
    assert resolve("B_KEY").source == "environment"


def test_a_silent_endpoint_cannot_hang_a_request(aws, settings, caplog):
    """A server that accepts connections and never answers: bounded by the read timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        settings.SECRETS_AWS_ENDPOINT_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings.SECRETS_AWS_TIMEOUT_SECONDS = 1
        settings.SECRETS_AWS_MAX_ATTEMPTS = 1
        loader = AWSSecretLoader()
        started = time.monotonic()
        finished, value = _finishes(lambda: loader.get("A_KEY"), within=30)
        assert finished and value is None
        assert accepted  # it did connect, then gave up waiting
        assert time.monotonic() - started < 30
        assert caplog.text.count("unreachable") == 1  # then skipped for the cache period
        assert loader.get("B_KEY") is None
        assert caplog.text.count("unreachable") == 1
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        listener.close()


def test_no_value_reaches_the_log(aws, caplog):
    aws.create_secret(Name="kozmo/default/API_TOKEN", SecretString="LOG-CANARY-42")
    AWSSecretLoader().get("API_TOKEN")
    assert "LOG-CANARY-42" not in caplog.text
