"""Port choice for the local stack: the configured port if set, else the default if free, else any free port."""
from __future__ import annotations

import socket


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def choose_port(configured: str | None, default: int) -> int:
    if configured:
        port = int(configured)
        if not 1 <= port <= 65535:
            raise ValueError(f"port {configured} is out of range")
        return port
    return default if is_free(default) else free_port()
