"""R17.19: a limit that needs the shared cache fails closed with a 503 that names the cache."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from kozmo_secrets.middleware import ServiceUnavailableMiddleware
from secrets_app.api.exceptions import api_exception_handler
from secrets_app.shared_cache import CacheUnavailable, require_shared_cache


def test_r17_19_cache_errors_become_cache_unavailable():
    with pytest.raises(CacheUnavailable) as caught, require_shared_cache("Decrypting"):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
    assert "REDIS_URL" in str(caught.value)
    assert str(caught.value).startswith("Decrypting is unavailable")


def test_r17_19_other_errors_pass_through():
    with pytest.raises(ValueError), require_shared_cache("Decrypting"):
        raise ValueError("not a cache problem")


def test_r17_19_api_answers_503_json():
    response = api_exception_handler(CacheUnavailable("Decrypting"), {})
    assert response.status_code == 503
    assert "REDIS_URL" in response.data["detail"]
    assert response["Retry-After"] == "30"


@pytest.mark.django_db
def test_r17_19_console_and_api_paths_answer_503():
    middleware = ServiceUnavailableMiddleware(lambda request: None)
    for path, content_type in (("/secrets/", "text/html"), ("/api/v1/tokens/", "application/json")):
        request = RequestFactory().post(path)
        request.user = AnonymousUser()
        response = middleware.process_exception(request, CacheUnavailable("Signing in"))
        assert response.status_code == 503
        assert response["Content-Type"].startswith(content_type)
        assert b"REDIS_URL" in response.content
    assert middleware.process_exception(RequestFactory().get("/"), ValueError()) is None
