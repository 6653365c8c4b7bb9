"""``python -m ketalink_replay ...``: the operations CLI of this image's service, ``python -m shared.ops``.

Kept so that scripts written for the old whole-topic replay find an entry point: it runs ``shared.ops`` with the
service of the image (``KETALINK_SERVICE``, set by deploy/docker/Dockerfile) unless the first argument names one.
Replay is now per service and audited, and needs a reason:

    python -m ketalink_replay dead-letters list
    python -m ketalink_replay dead-letters replay --all --reason "EHR mapping fixed" --apply

See ``shared/ops/cli.py`` and docs/operations.md, "Dead letters and held records"."""
from __future__ import annotations

import os
import sys

from shared.ops.cli import SERVICES, main


def arguments(argv: list[str], environ: dict[str, str]) -> list[str]:
    service = environ.get("KETALINK_SERVICE", "")
    if argv and argv[0] in SERVICES or not service:
        return argv
    return [service, *argv]


if __name__ == "__main__":
    raise SystemExit(main(arguments(sys.argv[1:], dict(os.environ))))
