"""``python -m shared.ops <service> ...``: see ``shared/ops/cli.py``."""
from shared.ops.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
