"""Event-driven microservices: services that own their data and talk through an event bus.

``outbox``: publishing an event with a database write — dual write against the outbox.
"""

from messagelab.microservices import outbox
from messagelab.microservices.outbox import PUBLISHING, PublishConfig, PublishResult

__all__ = ["PUBLISHING", "PublishConfig", "PublishResult", "outbox"]
