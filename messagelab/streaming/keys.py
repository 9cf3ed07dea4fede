"""Record keys and the partitions they land on: Zipf-skewed keys, hashed as Kafka's default partitioner does.

A keyed record goes to ``hash(key) mod partitions`` (Kafka hashes the key bytes with
murmur2), so every record of one key lands on one partition — the per-key order a consumer
sees — and a key that sends more than others makes its partition hot. Keys here are numbered
``0 … key_count - 1`` by popularity, key ``k`` sending a share proportional to
``1 / (k + 1) ** skew`` (Zipf; ``skew`` 0 is uniform), and the hash is a fixed 64-bit mixer of
the key's number, so the mapping is the same on every run and every machine, and changing
the partition count remaps keys as it does in Kafka.

>>> shares = partition_shares(1000, 0.0, 4)
>>> shares.shape, round(float(shares.sum()), 6)
((4,), 1.0)
>>> partition_shares(3, 0.0, 8).tolist().count(0.0)   # three keys can use at most three partitions
5
>>> bool(partition_shares(10_000, 1.2, 12).max() > 2 * partition_shares(10_000, 0.0, 12).max())
True
"""

from __future__ import annotations

import functools

import numpy as np

_MASK = (1 << 64) - 1


def key_hash(keys: np.ndarray) -> np.ndarray:
    """A fixed 64-bit hash of key numbers (splitmix64's finaliser): well mixed, reproducible."""
    z = (keys.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(_MASK)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def key_weights(key_count: int, skew: float) -> np.ndarray:
    """Each key's share of the records (Zipf with exponent ``skew``), summing to 1."""
    w = 1.0 / np.arange(1, key_count + 1, dtype=float) ** skew
    return w / w.sum()


@functools.lru_cache(maxsize=64)
def _shares(key_count: int, skew: float, partitions: int) -> tuple[float, ...]:
    with np.errstate(over="ignore"):
        target = key_hash(np.arange(key_count)) % np.uint64(partitions)
    shares = np.bincount(target.astype(np.int64), weights=key_weights(key_count, skew), minlength=partitions)
    return tuple(np.clip(shares / shares.sum(), 0.0, 1.0).tolist())


def partition_shares(key_count: int, skew: float, partitions: int) -> np.ndarray:
    """Each partition's share of keyed records under the key-hash partitioner."""
    return np.array(_shares(int(key_count), float(skew), int(partitions)))


def hottest_key_share(key_count: int, skew: float) -> float:
    """The busiest key's share of all records: no partition count spreads it."""
    return float(key_weights(int(key_count), float(skew))[0])
