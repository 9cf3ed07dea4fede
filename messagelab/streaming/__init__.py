"""High-throughput streaming: a Kafka-like cluster of brokers, partitions, producers and a consumer group.

``cluster``: the model (``StreamConfig``, ``simulate``, ``StreamResult``).
``keys``: keys, their skew and the partitions they hash to.
``codecs``: what each compression codec saves and costs.
"""

from messagelab.streaming import cluster, codecs, keys
from messagelab.streaming.cluster import StreamConfig, StreamResult, simulate

__all__ = ["StreamConfig", "StreamResult", "cluster", "codecs", "keys", "simulate"]
