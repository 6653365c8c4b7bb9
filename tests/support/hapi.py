"""A stock HAPI FHIR JPA server as a local process for ``make test-hapi`` (``KETALINK_TEST_FHIR=hapi``).

``deploy/hapi/pom.xml`` assembles it from Maven Central (HAPI FHIR 8.8.0 JPA, R4, H2 in memory, Jetty): Maven builds a
thin jar of ``deploy/hapi/src`` into ``var/hapi/`` and writes the dependencies' classpath beside it, once, and again
only when the POM or a source file is newer than the jar or a jar of the classpath is gone. HAPI keeps its default
storage settings, the 60 s reuse of cached search results among them: the services must cope with a stock server.
HAPI checks no token (a test EHR without auth); the sandbox in front of it still serves the SMART endpoints and the
services and tests take their backend tokens there (``tests/support/backend_auth.py``).
Needs Java 17 and Maven."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests

from deploy.local.ports import free_port
from tests.support.processes import ROOT, ManagedProcess, base_environment

PROJECT = ROOT / "deploy" / "hapi"
POM = PROJECT / "pom.xml"
BUILD = ROOT / "var" / "hapi"
JAR = BUILD / "target" / "ketalink-hapi.jar"
CLASSPATH = BUILD / "classpath.txt"
READY_TIMEOUT_S = 240.0  # measured ~15-25 s on the 2-core machines; far more when the machine is busy


def _sources() -> list[Path]:
    return [POM, *sorted((PROJECT / "src").rglob("*.java"))]


def _built() -> str | None:
    """The run classpath (jar + dependencies) when the build is current, else None."""
    if not (JAR.exists() and CLASSPATH.exists()):
        return None
    if any(source.stat().st_mtime > JAR.stat().st_mtime for source in _sources()):
        return None
    dependencies = CLASSPATH.read_text().strip()
    if not dependencies or not all(Path(jar).exists() for jar in dependencies.split(os.pathsep)):
        return None
    return os.pathsep.join([str(JAR), dependencies])


def hapi_classpath() -> str:
    """Build the server with Maven unless the build in var/hapi/ is current; the run classpath."""
    classpath = _built()
    if classpath:
        return classpath
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("KETALINK_TEST_FHIR=hapi needs Maven (mvn) to assemble HAPI FHIR from Maven Central")
    subprocess.run([mvn, "-q", "-B", "-f", str(POM), "package"], cwd=ROOT, check=True)
    classpath = _built()
    if classpath is None:
        raise RuntimeError(f"the Maven build of {POM} left no {JAR} and {CLASSPATH}")
    return classpath


def _serves(url: str) -> Callable[[], bool]:
    """Ready once the CapabilityStatement comes back: the first one takes HAPI seconds to build, so the check waits
    for it rather than hanging up (which HAPI would log as a broken pipe)."""
    def check() -> bool:
        try:
            return requests.get(url, timeout=30).status_code == 200
        except requests.RequestException:
            return False
    return check


def hapi_fhir_server(log_dir: Path) -> tuple[ManagedProcess, str]:
    """HAPI on a free loopback port; ready once ``/fhir/metadata`` answers. Its data is in memory: a restart empties
    it."""
    classpath = hapi_classpath()
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("KETALINK_TEST_FHIR=hapi needs Java 17 (java on PATH)")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/fhir"
    # HAPI's warnings and errors only (a refused request is one line naming its HAPI-nnnn code), with the time
    command = [java, "-Xms256m", "-Xmx1g", "-Djava.awt.headless=true",
               "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.showDateTime=true",
               "-cp", classpath, "ketalink.hapi.HapiServer", str(port)]
    process = ManagedProcess("hapi", command, base_environment(), log_dir, _serves(f"{base_url}/metadata"),
                             ready_timeout_s=READY_TIMEOUT_S)
    return process, base_url
