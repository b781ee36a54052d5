"""The outside review of issue 14: the browser fixtures (Chromium via Playwright) here too."""

from tests.browser.conftest import browser, page  # noqa: F401
