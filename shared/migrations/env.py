"""Alembic environment: migrates the connection ``shared.db.migrate`` hands over, or ``DATABASE_URL`` from the CLI."""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from shared.db import metadata
import shared.smart.sessions  # noqa: F401 - registers the SMART tables on the shared metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///var/migrations-check.db"))
    with engine.connect() as fresh:
        context.configure(connection=fresh, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
