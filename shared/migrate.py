"""``python -m shared.migrate``: bring one service's database to the newest Alembic revision, then exit.

In Kubernetes this is the pre-rollout Job (a Helm pre-install/pre-upgrade hook, or the first step of a kustomize
apply), run with the DDL role that owns the schema, so the services themselves run with DML-only roles and
``KETALINK_MIGRATE_ON_START=false``. Safe to run again: at head it changes nothing, and web, worker and Job may race
(``shared.db.migrate`` holds an advisory lock on PostgreSQL).

Exit status: 0 migrated (or already current), 1 the database refused or could not be reached, 2 bad usage
(``DATABASE_URL`` missing or not a database URL). Messages name the revisions and the error class, never a
password or row data.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def current_revisions(engine: Engine) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def run(database_url: str) -> int:
    from shared.db import create_engine_for, migrate

    try:
        url = make_url(database_url)
    except ArgumentError:
        print("shared.migrate: DATABASE_URL is not a database URL", file=sys.stderr)
        return EXIT_USAGE
    where = f"{url.get_backend_name()}://{url.host or ''}/{url.database or ''}"  # no user or password
    try:
        engine = create_engine_for(database_url)
        before = current_revisions(engine)
        migrate(engine)
        after = current_revisions(engine)
    except SQLAlchemyError as error:
        reason = type(getattr(error, "orig", None) or error).__name__
        print(f"shared.migrate: {where}: migration failed ({reason}): {str(error).splitlines()[0]}",
              file=sys.stderr)
        return EXIT_FAILED
    print(f"shared.migrate: {where}: {','.join(before) or 'empty'} -> {','.join(after)}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.migrate", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        print("shared.migrate: DATABASE_URL is not set (the migrator role's URL)", file=sys.stderr)
        return EXIT_USAGE
    return run(database_url)


if __name__ == "__main__":
    sys.exit(main())
