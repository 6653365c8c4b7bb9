"""A throwaway PostgreSQL cluster on a free loopback port, for the rows that run two processes of one service:
SQLite is one process's store (its outbox relay assumes a single sender), PostgreSQL is what replicas share in
production (the relay locks rows with ``FOR UPDATE SKIP LOCKED``). PostgreSQL refuses to run as root, so as root
its commands run as the ``postgres`` user."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from deploy.local.ports import free_port

SEARCH_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


def postgres_bin(name: str) -> str | None:
    """``initdb`` and ``pg_ctl`` are usually not on PATH on Debian; look in the versioned directories too."""
    found = shutil.which(name)
    if found:
        return found
    return next((str(Path(d) / name) for d in SEARCH_DIRS if (Path(d) / name).exists()), None)


def available() -> bool:
    return postgres_bin("initdb") is not None and postgres_bin("pg_ctl") is not None


class Postgres:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self._as_user: list[str] = []

    def start(self) -> "Postgres":
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL (initdb, pg_ctl) not found")
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            os.chmod(self.directory.parent, 0o711)  # mkdtemp's 0700 would keep the postgres user out
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run([initdb, "-D", str(self.directory / "data"), "-A", "trust", "-U", "ketalink", "-E", "UTF8",
                   "--no-sync"])
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run([pg_ctl, "-D", str(self.directory / "data"), "-o", options, "-l",
                   str(self.directory / "postgres.log"), "-w", "-t", "30", "start"])
        return self

    def new_database(self) -> str:
        """A fresh database; returns its SQLAlchemy URL (psycopg 3)."""
        name = f"bench_{uuid.uuid4().hex[:8]}"
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=ketalink dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://ketalink@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        pg_ctl = postgres_bin("pg_ctl")
        if pg_ctl and (self.directory / "data" / "postmaster.pid").exists():
            self._run([pg_ctl, "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"], check=False)

    def _run(self, command: list[str], check: bool = True) -> None:
        subprocess.run(self._as_user + command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)
