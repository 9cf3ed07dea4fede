"""A retry budget: a token bucket that lets retries through only while calls mostly succeed.

The AWS SDKs' "standard" retry mode keeps such a bucket per client (the retry quota, in
aws-sdk-js-v3 ``middleware-retry``: ``INITIAL_RETRY_TOKENS = 500``, ``RETRY_COST = 5``,
``TIMEOUT_RETRY_COST = 10``, ``NO_RETRY_INCREMENT = 1``): a retry withdraws its cost and
is not made when the bucket holds less; a call that succeeds at once deposits one token,
and a call that succeeds on a retry gives that retry's cost back. While a dependency is
healthy the bucket stays full; when every call fails, retries stop after ``500 / 5 = 100``
of them, so retries cannot multiply the load on a dependency that is already down (the
AWS Builders' Library, "Timeouts, retries, and backoff with jitter").

>>> bucket = TokenBucket(capacity=12)
>>> bucket.withdraw(timeout=True), bucket.withdraw(timeout=False), bucket.withdraw(timeout=False)
(10, 0, 0)
>>> bucket.tokens, bucket.denied
(2, 2)
>>> bucket.deposit(10); bucket.tokens
12
"""

from __future__ import annotations

INITIAL_RETRY_TOKENS = 500
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10
NO_RETRY_INCREMENT = 1


class TokenBucket:
    """One caller's retry quota; ``withdraw`` before a retry, ``deposit`` after a success."""

    __slots__ = ("capacity", "tokens", "denied", "retry_cost", "timeout_retry_cost")

    def __init__(self, capacity: int = INITIAL_RETRY_TOKENS, retry_cost: int = RETRY_COST,
                 timeout_retry_cost: int = TIMEOUT_RETRY_COST) -> None:
        self.capacity = self.tokens = capacity
        self.retry_cost, self.timeout_retry_cost = retry_cost, timeout_retry_cost
        #: Retries refused for want of tokens.
        self.denied = 0

    def withdraw(self, *, timeout: bool) -> int:
        """The tokens a retry after a failure (a timeout when ``timeout``) took; 0 means: do not retry."""
        cost = self.timeout_retry_cost if timeout else self.retry_cost
        if self.tokens < cost:
            self.denied += 1
            return 0
        self.tokens -= cost
        return cost

    def deposit(self, retry_cost: int = 0) -> None:
        """A call succeeded: give back the cost of the retry that made it, or one token if it needed none."""
        self.tokens = min(self.capacity, self.tokens + (retry_cost or NO_RETRY_INCREMENT))
