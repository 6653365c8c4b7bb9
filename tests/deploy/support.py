"""Helpers for the deploy tests: the object type and running a tool with a clear failure."""
from __future__ import annotations

import subprocess
from typing import Any

import pytest

from deploy.render import layout

Obj = dict[str, Any]


def run(command: list[Any], *, stdin: str | None = None, timeout_s: float = 120) -> str:
    result = subprocess.run([str(part) for part in command], input=stdin, capture_output=True, text=True,
                            timeout=timeout_s, cwd=layout.ROOT)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stderr}{result.stdout}",
                    pytrace=False)
    return result.stdout
