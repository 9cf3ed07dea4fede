"""How long a client sleeps before retrying: the five strategies of Brooker's "Exponential Backoff And Jitter".

With ``v = min(cap, base · 2^attempt)`` (``attempt`` is the number of attempts that have
failed so far, so the first retry uses ``attempt = 1``, as the article's simulator,
aws-samples/aws-arch-backoff-simulator, does)::

    none                  0                                  retry at once
    exponential           v                                  everyone who failed together retries together
    full_jitter           U(0, v)
    equal_jitter          v/2 + U(0, v/2)                    never less than half the exponential sleep
    decorrelated_jitter   min(cap, U(base, 3 · previous))    ``previous`` starts at ``base``

Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015; the same
formulas in the AWS Builders' Library, "Timeouts, retries, and backoff with jitter".

Every strategy takes its randomness as one uniform draw ``u`` in [0, 1), so a caller keeps
its own seeded stream (and strategies without jitter ignore it):

>>> [round(backoff_s(s, 2, base_s=0.1, cap_s=10.0, u=0.5), 3) for s in BACKOFFS[:4]]
[0.0, 0.4, 0.2, 0.3]
>>> backoff_s("decorrelated_jitter", 3, base_s=0.1, cap_s=10.0, previous_s=1.0, u=0.5)
1.55
>>> backoff_s("exponential", 40, base_s=0.1, cap_s=10.0)
10.0
"""

from __future__ import annotations

#: The strategies, from no backoff at all to decorrelated jitter.
BACKOFFS = ("none", "exponential", "full_jitter", "equal_jitter", "decorrelated_jitter")

# 2^attempt stays a float well below overflow, and beyond 2^60 every cap has been reached.
_MAX_EXPONENT = 60


def backoff_s(strategy: str, attempt: int, *, base_s: float, cap_s: float, previous_s: float | None = None,
              u: float = 0.0) -> float:
    """Seconds to sleep before the retry that follows ``attempt`` failed attempts.

    ``previous_s`` is the previous sleep of the same caller (decorrelated jitter only;
    ``base_s`` before the first retry); ``u`` is a uniform draw in [0, 1).
    """
    if strategy == "none":
        return 0.0
    if strategy == "decorrelated_jitter":
        previous = base_s if previous_s is None else previous_s
        return min(cap_s, base_s + u * (3.0 * previous - base_s))
    v = ceiling_s(attempt, base_s=base_s, cap_s=cap_s)
    if strategy == "exponential":
        return v
    if strategy == "full_jitter":
        return u * v
    if strategy == "equal_jitter":
        return v / 2.0 + u * v / 2.0
    raise ValueError(f"backoff strategy {strategy!r}; allowed: {', '.join(BACKOFFS)}")


def ceiling_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """The exponential sleep after ``attempt`` failed attempts, ``min(cap, base · 2^attempt)``: the jitters' ceiling."""
    return min(cap_s, base_s * 2.0 ** min(attempt, _MAX_EXPONENT))


def longest_backoffs_s(strategy: str, attempts: int, *, base_s: float, cap_s: float) -> float:
    """The most a caller can sleep in total between ``attempts`` attempts (a bound, for run horizons)."""
    total, previous = 0.0, base_s
    for attempt in range(1, attempts):
        if strategy == "none":
            return 0.0
        if strategy == "decorrelated_jitter":
            previous = min(cap_s, 3.0 * previous)
            total += previous
        else:
            total += ceiling_s(attempt, base_s=base_s, cap_s=cap_s)
    return total
