"""Second outside security pass on issue 13: shared helpers (the first pass's fixtures too)."""

from tests.review_i13.conftest import stub  # noqa: F401
