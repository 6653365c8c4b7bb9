"""A service's start-up schema step in a child interpreter: ``python -m shared.schema_start migrate|check``.

``shared.db.create_database`` runs it for a service process (``ServiceRuntime.from_environment``): the step is
``shared.db.migrate`` with ``KETALINK_MIGRATE_ON_START=true`` (the local stack) or ``shared.db.require_current_schema``
with false (Kubernetes, where the migrations Job migrates). Done in the service's own process it imported Alembic,
which imports Mako, Pygments' lexers and every dialect's DDL module: about 10 MB of idle RSS held for the life of
the process for a step that runs once (issue 19, docs/performance.md "Idle memory"). The child does the same step
on the same database and exits; the service starts only when it succeeded, and its failure stops the start as it
did in-process: ``SchemaNotCurrent`` for a schema at another revision, ``SchemaStepFailed`` for a database that
refused or could not be reached.

The database URL goes to the child in its environment (``KETALINK_SCHEMA_DATABASE_URL``), never on a command line.
Its messages name revisions and the error class, never a password or row data (as ``python -m shared.migrate``).

Exit status: 0 done, 1 the database refused or could not be reached, 2 bad usage, 3 schema not current."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_CURRENT = 0, 1, 2, 3
URL_VARIABLE = "KETALINK_SCHEMA_DATABASE_URL"
_REPOSITORY_ROOT = Path(__file__).resolve().parents[1]


class SchemaStepFailed(RuntimeError):
    """The child could not migrate or check the schema (the database refused, could not be reached, or the child
    died); the service must not start."""


def prepare_in_child(database_url: str, migrate_on_start: bool) -> None:
    """Migrate (``migrate_on_start``) or check the schema of ``database_url`` in a child interpreter; return when
    it is at the newest revision, raise ``SchemaNotCurrent`` or ``SchemaStepFailed`` otherwise."""
    from shared.db import SchemaNotCurrent

    step = "migrate" if migrate_on_start else "check"
    python_path = os.pathsep.join(p for p in (str(_REPOSITORY_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, URL_VARIABLE: database_url, "PYTHONPATH": python_path}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "shared.schema_start", step], env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, check=False)
    said = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}").splitlines()[-1]
    if result.returncode == EXIT_NOT_CURRENT:
        raise SchemaNotCurrent(said)
    if result.returncode != EXIT_OK:
        raise SchemaStepFailed(f"database schema {step} failed: {said}")
    log.info("database schema ready", extra={"schema_step": step, "schema_revisions": result.stdout.strip(),
                                              "seconds": round(time.monotonic() - started, 3)})


def run(step: str, database_url: str) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from shared.db import SchemaNotCurrent, create_engine_for, migrate, require_current_schema
    from shared.migrate import current_revisions

    engine = create_engine_for(database_url)
    try:
        if step == "migrate":
            before = current_revisions(engine)
            migrate(engine)
        else:
            require_current_schema(engine)
            before = None
        after = current_revisions(engine)
    except SchemaNotCurrent as error:
        print(str(error), file=sys.stderr)
        return EXIT_NOT_CURRENT
    except SQLAlchemyError as error:
        reason = type(getattr(error, "orig", None) or error).__name__
        print(f"{reason}: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    print(f"{','.join(before) or 'empty'} -> {','.join(after)}" if before is not None else ",".join(after))
    return EXIT_OK


def main(argv: list[str]) -> int:
    database_url = os.environ.get(URL_VARIABLE, "")
    if len(argv) != 1 or argv[0] not in ("migrate", "check") or not database_url:
        print(f"usage: {URL_VARIABLE}=<url> python -m shared.schema_start migrate|check", file=sys.stderr)
        return EXIT_USAGE
    return run(argv[0], database_url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
