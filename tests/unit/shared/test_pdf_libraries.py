"""The start-up check of WeasyPrint's system libraries (``shared/pdf_libraries.py``): its names are WeasyPrint's own,
every one loads on this machine (real dlopen), and a library that cannot be loaded stops the documentation and orders
services at start with its name. A missing library is a name added to the table that no system has (the libraries
themselves cannot be removed from this machine)."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.config import SettingsError
from shared.events.kafka_clients import KafkaSettings
from shared.pdf_libraries import WEASYPRINT_LIBRARIES, check_pdf_libraries, missing_pdf_libraries
from shared.runtime import ServiceRuntime, ServiceSettings

ABSENT = ("libketalink-absent-0", "libketalink-absent.so.0")


def _weasyprint_required_names() -> list[tuple[str, ...]]:
    """The names of each library WeasyPrint's ``text/ffi.py`` opens without ``allow_fail``, read from its source
    (importing it would load the libraries, the very thing checked)."""
    spec = importlib.util.find_spec("weasyprint")
    assert spec is not None and spec.origin is not None
    tree = ast.parse((Path(spec.origin).parent / "text" / "ffi.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_dlopen":
            optional = any(k.arg == "allow_fail" and isinstance(k.value, ast.Constant) and k.value.value
                           for k in node.keywords)
            if not optional:
                found.append(tuple(a.value for a in node.args[1:] if isinstance(a, ast.Constant)))
    return found


def test_the_names_are_the_ones_weasyprint_loads() -> None:
    assert sorted(_weasyprint_required_names()) == sorted(WEASYPRINT_LIBRARIES.values())


def test_every_library_loads_here_and_the_check_is_cheap() -> None:
    started = time.perf_counter()
    assert missing_pdf_libraries() == []
    check_pdf_libraries()
    elapsed = time.perf_counter() - started
    print(f"start-up check of {len(WEASYPRINT_LIBRARIES)} libraries (twice): {elapsed * 1000:.0f} ms")


def test_a_library_found_only_by_find_library_counts_as_present() -> None:
    """A name without a dot is looked up as WeasyPrint's cffi does (``ctypes.util.find_library``): "c" is libc."""
    assert missing_pdf_libraries({"c": ("c",)}) == []


def test_a_library_none_of_whose_names_loads_is_named_with_the_names_tried() -> None:
    libraries = {"pango-1.0": WEASYPRINT_LIBRARIES["pango-1.0"], "ketalink-absent": ABSENT}
    assert missing_pdf_libraries(libraries) == ["ketalink-absent"]
    with pytest.raises(SettingsError, match=r"cannot load: ketalink-absent \(tried libketalink-absent-0, "
                                            r"libketalink-absent\.so\.0\)\. Install pango"):
        check_pdf_libraries(libraries)


@pytest.mark.parametrize("service", ["documentation", "orders"])
def test_the_service_does_not_start_without_a_library(service: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if service == "documentation":
        from services.documentation.bootstrap import build
    else:
        from services.orders.bootstrap import build
    monkeypatch.setitem(WEASYPRINT_LIBRARIES, "ketalink-absent", ABSENT)
    runtime = ServiceRuntime(service, ServiceSettings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"),
                             KafkaSettings())
    with pytest.raises(SystemExit, match=f"{service}: configuration error: .*ketalink-absent"):
        build(runtime)


def test_the_check_leaves_the_service_process_without_the_libraries() -> None:
    """The libraries are loaded by a child interpreter: after the check, this process (here a fresh one, as a
    service at start) has no pango mapped, so its idle memory does not carry them."""
    probe = ("from shared.pdf_libraries import check_pdf_libraries; check_pdf_libraries(); "
             "maps = open('/proc/self/maps').read(); print('pango' in maps, 'harfbuzz' in maps)")
    root = Path(__file__).resolve().parents[3]
    child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, check=True)
    assert child.stdout.split() == ["False", "False"]


def test_a_check_that_cannot_run_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(SettingsError, match=r"check of WeasyPrint's system libraries failed \(exit status 1\)"):
        check_pdf_libraries()
