"""A throwaway PostgreSQL server for the tests, from Debian's ``postgresql`` package.

:func:`start` creates a cluster in a fresh folder under /tmp, owned by the ``postgres`` user
when the tests run as root (PostgreSQL refuses to run as root), listening only on a Unix
socket in that folder, with ``trust`` authentication for a ``messagelab`` role; :func:`stop`
shuts it down at once and removes the folder. Each test gets its own database
(:meth:`Server.database`), so nothing one test writes is seen by another.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass

ROLE = "messagelab"


def initdb() -> str | None:
    """Debian's initdb (the newest installed PostgreSQL), or None when the server is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else None


@dataclass
class Server:
    folder: str
    bin: str
    as_user: list[str]

    @property
    def socket(self) -> str:
        return self.folder

    def env(self, dbname: str) -> dict[str, str]:
        """The ``eventsourcing`` settings of a Trading application on database ``dbname``."""
        return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": dbname,
                "POSTGRES_HOST": self.socket, "POSTGRES_PORT": "5432", "POSTGRES_USER": ROLE,
                "POSTGRES_PASSWORD": "unused"}

    def gradebook_url(self, dbname: str) -> str:
        """nbgrader's ``CourseDirectory.db_url`` for database ``dbname`` (SQLAlchemy with psycopg 3)."""
        return f"postgresql+psycopg://{ROLE}@/{dbname}?host={self.socket}&port=5432"

    def database(self) -> str:
        """A new, empty database; its name."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=self.socket, port=5432, user=ROLE, dbname="postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return name


def start() -> Server:
    binary = initdb()
    if binary is None:
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    bin_dir = os.path.dirname(binary)
    folder = tempfile.mkdtemp(prefix="messagelab-pg-", dir="/tmp")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")
    subprocess.run([*as_user, binary, "-D", data, "-A", "trust", "-U", ROLE, "--no-sync"],
                   check=True, capture_output=True)
    options = f"-k {folder} -c listen_addresses='' -c fsync=off -p 5432"
    subprocess.run([*as_user, os.path.join(bin_dir, "pg_ctl"), "-D", data, "-o", options,
                    "-l", os.path.join(folder, "server.log"), "-w", "start"], check=True, capture_output=True)
    return Server(folder, bin_dir, as_user)


def stop(server: Server) -> None:
    subprocess.run([*server.as_user, os.path.join(server.bin, "pg_ctl"), "-D", os.path.join(server.folder, "data"),
                    "-m", "immediate", "-w", "stop"], capture_output=True)
    shutil.rmtree(server.folder, ignore_errors=True)
