"""Newcomer review of issue 14: the browser fixtures of tests/browser, shared here."""

from tests.browser.conftest import browser, page  # noqa: F401  (pytest fixtures)
