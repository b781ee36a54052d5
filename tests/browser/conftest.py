"""Browser tests: Playwright's Python API driving Debian's Chromium against a live server.

The fixtures (`browser`, `page`) live in tests/conftest.py, so that the review folders'
browser tests share the one Chromium of a test process (two sync Playwrights in one process
refuse to start). They skip when Chromium is missing, and fail instead under REQUIRE_BROWSER=1
(CI). Screenshots of every page land in test-output/screenshots/ (tests/helpers.py's
screenshot).
"""
