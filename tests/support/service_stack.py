"""Services as real processes for integration tests that share one broker: each consumer group starts at the end of
the topics it reads, so other tests' events about the same seeded patients (an order the orders tests signed, a
session the documentation tests charted) never reach these services."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import service


@contextmanager
def services_reading_from_the_end(names: tuple[str, ...], label: str, bootstrap: str, ehr_base_url: str,
                                  log_dir: Path, data_dir: Path) -> Iterator[dict[str, str]]:
    """Start ``names`` (e.g. ``("orders", "documentation")``) on free ports with their own stores and consumer
    groups ``ketalink-{name}-{label}-{random}``, each group at the end of its topics; yields name → base URL and
    stops them all afterwards."""
    started, urls = [], {}
    try:
        for name in names:
            process, base_url = service(name, log_dir, data_dir, bootstrap, ehr_base_url, label=label)
            started.append(process.start())
            urls[name] = base_url
        yield urls
    finally:
        for process in started:
            process.stop()
