"""The system libraries WeasyPrint loads when it is first imported (pango and what it builds on), checked when a
service that renders PDFs starts, so a missing one stops the start with its name instead of failing the first
signature with a 500 (``shared/pdf.py`` imports WeasyPrint only when a PDF is rendered: the import costs ~2 s).

The names are WeasyPrint's own (``weasyprint/text/ffi.py``, its ``_dlopen`` calls; a unit test reads that source
and fails when a WeasyPrint upgrade changes them), and each is looked up as WeasyPrint's cffi does: a name with a dot
or slash is opened directly, any name then through ``ctypes.util.find_library``. A library is present when any of
its names loads, as WeasyPrint takes the first that does. The direct opens come first, as they cost ~5 ms in all;
``find_library`` (which may run ``ldconfig``) only for a library none of them found.

The service's check loads them in a child interpreter (``python -m shared.pdf_libraries``), not in the service: a
library once loaded stays mapped, and the service would carry ~5 MB of pango and its kin from its start although
it loads them only when it renders its first PDF (the idle-memory goal, docs/performance.md)."""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import subprocess
import sys
from pathlib import Path

from shared.config import SettingsError

#: Each library WeasyPrint cannot import without, by the names it tries (in its order). HarfBuzz-Subset and
#: HarfBuzz-Vector are optional to it (``allow_fail``), so not here.
WEASYPRINT_LIBRARIES: dict[str, tuple[str, ...]] = {
    "gobject-2.0": ("libgobject-2.0-0", "gobject-2.0-0", "gobject-2.0", "libgobject-2.0.so.0",
                    "libgobject-2.0.0.dylib", "libgobject-2.0-0.dll"),
    "pango-1.0": ("libpango-1.0-0", "pango-1.0-0", "pango-1.0", "libpango-1.0.so.0", "libpango-1.0.dylib",
                  "libpango-1.0-0.dll"),
    "harfbuzz": ("libharfbuzz-0", "harfbuzz", "harfbuzz-0.0", "libharfbuzz.so.0", "libharfbuzz.0.dylib",
                 "libharfbuzz-0.dll"),
    "fontconfig": ("libfontconfig-1", "fontconfig-1", "fontconfig", "libfontconfig.so.1", "libfontconfig.1.dylib",
                   "libfontconfig-1.dll"),
    "pangoft2-1.0": ("libpangoft2-1.0-0", "pangoft2-1.0-0", "pangoft2-1.0", "libpangoft2-1.0.so.0",
                     "libpangoft2-1.0.dylib", "libpangoft2-1.0-0.dll"),
}


def _opens(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _loads(names: tuple[str, ...]) -> bool:
    if any(_opens(name) for name in names if "." in name or "/" in name):
        return True
    return any((path := ctypes.util.find_library(name)) is not None and _opens(path) for name in names)


def missing_pdf_libraries(libraries: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """The libraries of ``libraries`` (default: WeasyPrint's) none of whose names this process can load."""
    return [library for library, names in (libraries or WEASYPRINT_LIBRARIES).items() if not _loads(names)]


def check_pdf_libraries(libraries: dict[str, tuple[str, ...]] | None = None) -> None:
    """SettingsError naming each missing library and the names tried, for the service's start-up to stop on. The
    libraries are loaded in a child interpreter, so this process stays without them until a PDF is rendered."""
    missing = missing_in_a_child_process(libraries or WEASYPRINT_LIBRARIES)
    if missing:
        tried = "; ".join(f"{library} (tried {', '.join((libraries or WEASYPRINT_LIBRARIES)[library])})"
                          for library in missing)
        raise SettingsError(f"PDF rendering (WeasyPrint) needs the system libraries it cannot load: {tried}. "
                            "Install pango with pangoft2, HarfBuzz and fontconfig as the service image does "
                            "(deploy/docker/Dockerfile)")


CHILD_TIMEOUT_S = 30.0  # a loaded machine's interpreter start plus find_library's ldconfig: seconds, not minutes


def missing_in_a_child_process(libraries: dict[str, tuple[str, ...]]) -> list[str]:
    """``missing_pdf_libraries`` run by ``python -m shared.pdf_libraries`` (same interpreter, same library path);
    a child that fails to answer is a SettingsError with its exit status, never a silent pass."""
    root = Path(__file__).resolve().parent.parent
    try:
        child = subprocess.run([sys.executable, "-m", "shared.pdf_libraries"], input=json.dumps(libraries),
                               capture_output=True, text=True, cwd=root, timeout=CHILD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SettingsError(f"PDF rendering: the check of WeasyPrint's system libraries could not run ({error})")
    try:
        answer = json.loads(child.stdout)
    except ValueError:
        answer = None
    if child.returncode != 0 or not isinstance(answer, list):
        raise SettingsError(f"PDF rendering: the check of WeasyPrint's system libraries failed (exit status "
                            f"{child.returncode}): {child.stderr.strip()[-300:]}")
    return [str(name) for name in answer]


if __name__ == "__main__":  # the child of missing_in_a_child_process: the table on stdin, the missing on stdout
    print(json.dumps(missing_pdf_libraries({name: tuple(names) for name, names in json.load(sys.stdin).items()})))
