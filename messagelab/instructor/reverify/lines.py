"""Reading a child process's answers line by line, each within a timeout.

Shared by the clean check process (:mod:`~messagelab.instructor.reverify.checks`) and the
sandboxed process that runs a student's code (:mod:`~messagelab.instructor.reverify.code`).
"""

from __future__ import annotations

import os
import select
import time


class LineReader:
    """Lines from a pipe, each within a timeout, with nothing lost between them.

    Two lines can arrive in one read; a buffered file object would keep the second where
    ``select`` cannot see it, and wait for more while an answer is already there.
    """

    def __init__(self, fd: int) -> None:
        self.fd, self._buffer = fd, b""

    def next(self, timeout: float) -> str:
        """The next line (with its newline), or "" when none came within ``timeout`` or the pipe closed."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                return ""
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                return ""
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace") + "\n"
