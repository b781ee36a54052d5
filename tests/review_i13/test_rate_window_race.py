"""R10.3 at a bucket's edge (found by issue 13's review under load: 7 of 30 parallel
credentials requests passed a 5/m limit). Two attempts one second apart, the later counted
while the earlier was still reading: the window must never grant both."""

from django.core.cache import cache

from secrets_app.access import ratelimit


class Interleaving:
    """The real cache, except that the first get_many first runs `meanwhile` (another
    process's whole attempt, one second later)."""

    def __init__(self, meanwhile):
        self.meanwhile = meanwhile

    def __getattr__(self, name):
        return getattr(cache, name)

    def get_many(self, keys):
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return cache.get_many(keys)


def test_R10_3_two_attempts_at_a_buckets_edge_are_never_both_granted(monkeypatch):
    cache.clear()
    clock = {"now": 1_000_000.2}
    monkeypatch.setattr(ratelimit, "now", lambda: clock["now"])
    later = {}

    def other_process():
        clock["now"] = 1_000_001.1  # the next second's bucket
        later["usage"] = ratelimit._window("decrypt", "race", "1/m")
        clock["now"] = 1_000_000.2

    monkeypatch.setattr(ratelimit, "cache", Interleaving(other_process))
    first = ratelimit._window("decrypt", "race", "1/m")
    assert [first.allowed, later["usage"].allowed].count(True) <= 1, (first, later["usage"])
