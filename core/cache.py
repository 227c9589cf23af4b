"""Results kept in the shared cache under keys that change whenever what they depend on
does, and computed once when many workers ask for the same missing one.

A key names the result, the markings its reader may see (all that decides visibility),
its arguments, today's date (default periods move with it) and a data stamp (a counter
that moves with every write that changes what is counted, with a nonce drawn at each
move): a cached result is never one that a fresh computation would not give.

So a key names one value for good, and a value asked for at nearly every request (a
report's JSON) can also be kept in the process itself (`local=True`), sparing the round
trip to the shared cache: for as long as the shared cache keeps it, never longer.
"""

import hashlib
import secrets
import time

from django.core.cache import cache
from django.utils import timezone

# After a write moves the stamp, every worker asking for a result misses the cache at
# once. One of them computes it (it holds "<key>:computing" for at most this long) while
# the others wait for its answer, polling the cache, instead of all computing it.
COMPUTE_LOCK_SECONDS = 60
# A waiting worker gives up after this long and computes the result itself.
WAIT_SECONDS = 10
# Often: a waiting worker serves nobody, and a report takes tens of milliseconds to compute
# (a poll is one round trip to the cache).
POLL_SECONDS = 0.005


# Keys that every app server shares whatever code it runs (during a rolling deploy two
# versions run at once): not prefixed with the code's version, unlike the rest.
SHARED = "shared:"


def make_key(key, key_prefix, version):
    """The cache's KEY_FUNCTION: Django's own (`prefix:version:key`, the prefix being the
    code's version, so that a deploy never reads what older code computed), except for
    keys starting with SHARED."""
    return f"{'' if key.startswith(SHARED) else key_prefix}:{version}:{key}"


def result_key(name, markings, args, kwargs, stamp):
    parts = (name, tuple(markings), args, sorted(kwargs.items()), timezone.localdate(), stamp)
    return "report:" + hashlib.sha256(repr(parts).encode()).hexdigest()


# This process's copies (`local=True`): key -> (monotonic expiry, value). Bounded: emptied
# when full (the keys in use at any moment are few: one per report, parameters and
# clearance, under the current stamp).
_local = {}
LOCAL_ENTRIES = 256


def computed_once(key, compute, seconds, local=False):
    """The cached value under `key`, or `compute()`'s, cached for `seconds`; of several
    workers missing it together, one computes and the others wait for its answer.
    `local`: also kept in this process (for an immutable value: bytes, a str)."""
    if local:
        found = _local.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
    result = _shared(key, compute, seconds)
    if local:
        if len(_local) >= LOCAL_ENTRIES:
            _local.clear()
        # No longer than the shared cache would keep it from now.
        _local[key] = (time.monotonic() + seconds, result)
    return result


def forget_local():
    """Empty this process's copies (as `cache.clear()` empties the shared cache)."""
    _local.clear()


def _shared(key, compute, seconds):
    result = cache.get(key)
    if result is not None:
        return result
    computing, token = key + ":computing", secrets.token_hex(8)
    leading = cache.add(computing, token, COMPUTE_LOCK_SECONDS)
    if not leading:
        result = _wait_for(key, computing)
        if result is not None:
            return result
    try:
        result = compute()
        cache.set(key, result, seconds)
    finally:
        # Its own mark only: one that outlived COMPUTE_LOCK_SECONDS may be another
        # worker's by now.
        if leading and cache.get(computing) == token:
            cache.delete(computing)
    return result


def _wait_for(key, computing):
    """The result another worker is computing, once it is in the cache; None if that
    worker stopped (its mark is gone with no answer) or took longer than WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        found = cache.get_many([key, computing])
        if key in found:
            return found[key]
        if computing not in found:  # done just now, or stopped with no answer
            return cache.get(key)
    return None
