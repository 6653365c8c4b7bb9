"""``--profile``: sample the service processes with py-spy while a phase runs, to find where their time goes.

py-spy attaches from outside (no change to the service, ``--nonblocking`` so the process is never paused) and
writes collapsed stacks (``--format raw``: one line per distinct stack, ``frame;frame;... count``) to
``var/bench/profile-<process>-<phase>.txt``; ``summarize`` turns a file into the functions with the most samples,
inclusive (the function or anything it called was running) and own (the function itself was on top)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
IDLE_FRAMES = ("wait (threading.py", "select (selectors.py", "poll (selectors.py", "_wait_for_tstate_lock",
               "sleep (", "serve_forever (socketserver.py", "accept (socket.py")


class Profiler:
    def __init__(self, out_dir: Path, phase: str, processes: dict[str, int], rate_hz: int = 200):
        self._files = {label: out_dir / f"profile-{label}-{phase}.txt" for label in processes}
        self._processes = processes
        self._rate_hz = rate_hz
        self._spies: list[subprocess.Popen[bytes]] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "Profiler":
        for label, pid in self._processes.items():
            self._spies.append(subprocess.Popen(
                [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(self._rate_hz), "--format", "raw",
                 "--nonblocking", "--threads", "-o", str(self._files[label])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        return self

    def __exit__(self, *_exc: object) -> None:
        for spy in self._spies:
            if spy.poll() is None:
                os.killpg(spy.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in self._spies:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(spy.pid, signal.SIGKILL)

    @property
    def files(self) -> dict[str, Path]:
        return dict(self._files)


def summarize(path: Path, top: int = 25) -> str:
    """The busiest functions of one profile, idle waits (a thread blocked in select, sleep, lock) left out."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE_FRAMES):
            continue
        count = int(count_text)
        busy += count
        own[_short(frames[-1])] += count
        for frame in set(_short(f) for f in frames):
            inclusive[frame] += count
    if not busy:
        return f"{path.name}: no busy samples"
    lines = [f"{path.name}: {busy} busy samples", "  inclusive%  own%  function"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"  {100 * count / busy:9.1f} {100 * own[frame] / busy:5.1f}  {frame}")
    lines.append("  -- most own time --")
    for frame, count in own.most_common(12):
        lines.append(f"  {100 * inclusive[frame] / busy:9.1f} {100 * count / busy:5.1f}  {frame}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (path/to/module.py:12)`` → ``func (module.py)``: lines merged, so a function counts once."""
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(file).parts
    return f"{name} ({'/'.join(parts[-2:])})"


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(summarize(Path(argument)))
