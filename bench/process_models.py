"""A service under measurement in either process model, for the phases that time its API (``api``, ``cds``):

- as ``make run`` runs it (``ONE_PROCESS``): one process, web and worker threads, on the bench's ``--database``;
- as production runs it (``PRODUCTION``, ``tests/support/prod_model.py``): gunicorn with
  ``deploy/docker/gunicorn.conf.py`` (2 workers of 8 threads), the worker as a process of its own under
  ``deploy/docker/ketalink_worker.py``, a PostgreSQL database made with the deployed roles and migrated by the
  migrator role. It needs PostgreSQL (``bench/postgres.py``); ``production_available()`` says whether it is there.

A row's CPU is counted over every process of the service: the gunicorn master and all its workers (``CpuMeter``
sums a process and its children) and the worker process, so the two models' figures compare."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.context import Context
from bench.postgres import available as production_available
from bench.report import ONE_PROCESS, PRODUCTION

__all__ = ["ONE_PROCESS", "PRODUCTION", "ServiceUnderTest", "as_make_run", "as_production", "production_available",
           "shared"]


@dataclass(frozen=True)
class ServiceUnderTest:
    """Where the service answers, the log its consumer writes (``decide_eligible`` and the sessions wait on it)
    and the processes whose CPU a row counts (label → pid, each with its children)."""

    name: str
    model: str
    base_url: str
    log_path: Path
    pids: dict[str, int]


def shared(ctx: Context, name: str) -> ServiceUnderTest:
    """The one-process service the inbound phases share (started on first use; its memory is sampled)."""
    running = ctx.service(name)
    return ServiceUnderTest(name, ONE_PROCESS, running.base_url, running.log_path, {f"service-{name}": running.pid})


@contextlib.contextmanager
def as_make_run(ctx: Context, name: str, extra_env: dict[str, str], label: str) -> Iterator[ServiceUnderTest]:
    """A process of its own (not the one the inbound phases share): ``extra_env`` is this row's configuration."""
    database_url = ctx.stack.postgres().new_database() if ctx.config.database == "postgres" else None
    running = ctx.stack.start_service(name, label=label, database_url=database_url, extra_env=extra_env)
    try:
        yield ServiceUnderTest(name, ONE_PROCESS, running.base_url, running.log_path,
                               {f"service-{name}": running.pid})
    finally:
        ctx.stack.stop(running)


@contextlib.contextmanager
def as_production(ctx: Context, name: str, extra_env: dict[str, str], label: str = "-prod"
                  ) -> Iterator[ServiceUnderTest]:
    """gunicorn (2 workers, as tests/support/prod_model.py and ``make test-prod``) plus the worker process, on a
    PostgreSQL database made with the deployed roles and migrated by the migrator role."""
    from tests.support.processes import service
    from tests.support.prod_model import prod_model, prod_service

    data_dir = ctx.stack.root / f"{name}{label}"
    data_dir.mkdir(exist_ok=True)
    env = {"KAFKA_TOPIC_PARTITIONS": str(ctx.stack.partitions), **extra_env}
    made, base_url = service(name, ctx.stack.log_dir, data_dir, ctx.stack.bootstrap, ctx.stack.ehr_base_url,
                             extra_env=env, label="bench-prod")
    processes = made if prod_model() else prod_service(name, ctx.stack.log_dir, data_dir, made.env,
                                                       urlsplit(base_url).port or 0)
    processes.log_path = ctx.stack.log_dir / f"{name}{label}.log"
    try:
        processes.start()
        assert processes.web.process is not None
        pids = {f"service-{name}-web": processes.web.process.pid}
        if processes.worker is not None and processes.worker.process is not None:
            pids[f"service-{name}-worker"] = processes.worker.process.pid
        yield ServiceUnderTest(name, PRODUCTION, base_url, processes.log_path, pids)
    finally:
        processes.stop()
