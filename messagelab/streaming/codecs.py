"""Compression codecs of a Kafka producer: how small a batch gets, and what it costs the CPU.

Kafka compresses a whole record batch (``compression.type``: none, gzip, snappy, lz4,
zstd), so a bigger batch compresses better, and the producer pays the CPU. The figures are
the fast levels of each codec on the Silesia corpus, as published in the benchmark table of
the zstd README (zstd 1.5.6; lzbench on one core of a Core i7-9700K: zstd -1, zlib 1.2.11 -1
for gzip, lz4 1.9.4, snappy 1.1.9): compression ratio and compression speed. Real payloads differ (repetitive
JSON telemetry compresses better than Silesia): what the model keeps is the ranking —
zstd and gzip shrink most, gzip costs by far the most CPU, lz4 and snappy are cheap and
shrink less.

>>> CODECS["zstd"].ratio < CODECS["lz4"].ratio < CODECS["none"].ratio
True
>>> round(compressed_bytes("zstd", 20 * 500), 0), compressed_bytes("zstd", 100) == 100
(3798.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Codec:
    """A compression codec: compressed size / original size, and compression speed on one core."""

    name: str
    #: Compressed bytes per original byte on a large batch (1 / the published ratio).
    ratio: float
    #: Original megabytes compressed per second on one core (``inf``: no work).
    compress_mb_s: float


CODECS: dict[str, Codec] = {
    "none": Codec("none", 1.0, float("inf")),
    "gzip": Codec("gzip", 1 / 2.743, 95.0),
    "snappy": Codec("snappy", 1 / 2.073, 530.0),
    "lz4": Codec("lz4", 1 / 2.101, 700.0),
    "zstd": Codec("zstd", 1 / 2.887, 510.0),
}
COMPRESSION = tuple(CODECS)

#: Bytes at the start of a batch that compress no better than raw: a codec needs some input
#: before its matches pay (its window and dictionary are empty), so one small record barely
#: shrinks and a big batch approaches the codec's ratio.
WARM_UP_BYTES = 512.0


def compressed_bytes(codec: str, raw_bytes):
    """Compressed size of a batch of ``raw_bytes`` (a number or an array)."""
    c = CODECS[codec]
    raw = np.asarray(raw_bytes, dtype=float)
    warm = np.minimum(raw, WARM_UP_BYTES)
    out = warm + c.ratio * (raw - warm)
    return float(out) if out.ndim == 0 else out
