"""Personal data in an immutable log: crypto-shredding with a key per data subject.

An event store never rewrites an event, yet the GDPR's right to erasure (Article 17) asks
that a person's data be erased. Crypto-shredding reconciles them: every piece of personal data
is encrypted, before it is written into an event, with a key that belongs to that person
alone and lives outside the log; erasing the person deletes the key. The events stay where
they are — amounts, times and versions still replay, the audit trail still adds up — but what
identified the person can no longer be read by anyone.

Keys are AES-GCM keys (the ``cryptography`` library's ``AESGCM``), one per subject, in a
:class:`KeyStore` (an SQLite table here; a key management service in production). A sealed
value is the nonce followed by the ciphertext, as base64 text (events are stored as JSON),
bound to its subject as associated data, so a value sealed for one person cannot be opened
with another's key.

>>> keys = KeyStore(":memory:")
>>> sealed = keys.seal("alice", "Alice Smith")
>>> keys.open("alice", sealed), "Alice" in sealed
('Alice Smith', False)
>>> keys.forget("alice")
>>> keys.open("alice", sealed) is None
True
"""

from __future__ import annotations

import base64
import os
import sqlite3

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: What a forgotten subject's personal data reads as.
FORGOTTEN = "(erased)"
NONCE_BYTES = 12


class KeyStore:
    """One AES-GCM key per data subject; a subject forgotten is a key deleted."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, key BLOB NOT NULL)")

    def _key(self, subject: str, *, create: bool) -> bytes | None:
        row = self.db.execute("SELECT key FROM subject_keys WHERE subject = ?", (subject,)).fetchone()
        if row is None and create:
            self.db.execute("INSERT OR IGNORE INTO subject_keys VALUES (?, ?)",
                            (subject, AESGCM.generate_key(bit_length=256)))
            return self._key(subject, create=False)
        return None if row is None else row[0]

    def seal(self, subject: str, text: str) -> str:
        """``text`` encrypted with ``subject``'s key (made on first use), as base64 text."""
        key = self._key(subject, create=True)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(key).encrypt(nonce, text.encode(), subject.encode())
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, subject: str, sealed: str) -> str | None:
        """The text ``sealed`` holds, or None once ``subject`` has been forgotten."""
        key = self._key(subject, create=False)
        if key is None:
            return None
        raw = base64.urlsafe_b64decode(sealed)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], subject.encode()).decode()

    def forget(self, subject: str) -> None:
        """Erase ``subject``: delete the key, and with it every value sealed for them."""
        self.db.execute("DELETE FROM subject_keys WHERE subject = ?", (subject,))
