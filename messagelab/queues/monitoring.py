"""CloudWatch alarms on an SQS queue's metrics: the metric names SQS publishes."""

from __future__ import annotations

from messagelab.sim.alarms import Alarm, breach_time_s

# CloudWatch metric name -> column of QueueResult.timeseries
METRICS = {
    "ApproximateAgeOfOldestMessage": "oldest_age_s",
    "ApproximateNumberOfMessagesVisible": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "DLQ.ApproximateNumberOfMessagesVisible": "dlq_depth",
}
UNITS = {
    "ApproximateAgeOfOldestMessage": "s",
    "ApproximateNumberOfMessagesVisible": "messages",
    "ApproximateNumberOfMessagesNotVisible": "messages",
    "DLQ.ApproximateNumberOfMessagesVisible": "messages",
}


class QueueAlarm(Alarm):
    """An alarm on one of the queue's CloudWatch metrics (names as in SQS)."""

    METRICS = METRICS
    UNITS = UNITS


__all__ = ["METRICS", "UNITS", "QueueAlarm", "breach_time_s"]
