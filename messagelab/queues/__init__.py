"""Amazon SQS-style queues: standard and FIFO, visibility timeouts, dead-letter queues, polling."""

from messagelab.queues.config import QueueConfig
from messagelab.queues.model import QueueResult, arrival_times, simulate

__all__ = ["QueueConfig", "QueueResult", "arrival_times", "simulate"]
