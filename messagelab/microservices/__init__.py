"""Event-driven microservices: services that own their data and talk through an event bus.

``outbox``: publishing an event with a database write — dual write against the outbox.
``saga``: the order saga across Order, Inventory, Payment, Shipping and Notification —
choreography against orchestration, compensations, at-least-once delivery, event design.
``sqlite_outbox``: the outbox against dual write for real, on SQLite, with processes killed mid-way.
``naming``: events in the past tense, commands as verbs.
"""

from messagelab.microservices import naming, outbox, saga, sqlite_outbox
from messagelab.microservices.outbox import PUBLISHING, PublishConfig, PublishResult
from messagelab.microservices.saga import SagaConfig, SagaResult

__all__ = ["PUBLISHING", "PublishConfig", "PublishResult", "SagaConfig", "SagaResult", "naming", "outbox", "saga",
           "sqlite_outbox"]
