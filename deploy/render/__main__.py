"""``python -m deploy.render``: regenerate deploy/k8s/base, deploy/k8s/components, the Helm chart deploy/helm/ketalink
and deploy/compose/postgres-init.sql; ``--check`` only reports files that are out of date (exit 1), as the tests do."""
from __future__ import annotations

import argparse
import sys

from deploy.render import files, layout


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.render", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    args = parser.parse_args()
    if args.check:
        stale = files.stale_files()
        for path in stale:
            print(f"out of date: {path.relative_to(layout.ROOT)}", file=sys.stderr)
        if stale:
            sys.exit("run `python -m deploy.render` and commit the result")
        return
    for path in files.write_all():
        print(f"wrote {path.relative_to(layout.ROOT)}")


if __name__ == "__main__":
    main()
