"""Apache Kafka itself as a local process for ``make test-kafka`` (``KETALINK_TEST_BROKER=kafka``).

The jars come from Maven Central through ``deploy/kafka/pom.xml`` (the classpath is resolved once with Maven and
cached in ``var/kafka/classpath.txt``); one node in KRaft combined mode (broker + controller) runs on free loopback
ports with its storage formatted in a fresh directory. Needs Java 17 (Kafka 4.x brokers) and Maven."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from deploy.local.ports import free_port
from tests.support.processes import ROOT, ManagedProcess, base_environment, port_open

POM = ROOT / "deploy" / "kafka" / "pom.xml"
CACHE = ROOT / "var" / "kafka"
CLASSPATH = CACHE / "classpath.txt"

LOG4J2 = """\
status = warn
shutdownHook = disable
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = info
"""


def kafka_classpath() -> str:
    """The broker's classpath: resolved by Maven when the POM changed or a jar is gone, else read from var/."""
    if CLASSPATH.exists() and CLASSPATH.stat().st_mtime >= POM.stat().st_mtime:
        classpath = CLASSPATH.read_text().strip()
        if classpath and all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            return classpath
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("KETALINK_TEST_BROKER=kafka needs Maven (mvn) to fetch Apache Kafka's jars")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([mvn, "-q", "-B", "-f", str(POM), "dependency:build-classpath",
                    f"-Dmdep.outputFile={CLASSPATH}"], cwd=ROOT, check=True)
    return CLASSPATH.read_text().strip()


def _cluster_id() -> str:
    """What ``kafka-storage random-uuid`` prints: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _admin_lists_topics(bootstrap: str) -> Callable[[], bool]:
    def check() -> bool:
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(bootstrap_servers=[bootstrap], client_id="ketalink-test-ready",
                                     request_timeout_ms=3000)
        except Exception:  # noqa: BLE001 - not up yet (no brokers available, connection refused, ...)
            return False
        try:
            admin.list_topics()
            return True
        except Exception:  # noqa: BLE001
            return False
        finally:
            admin.close()
    return check


def apache_kafka_broker(log_dir: Path, data_dir: Path) -> tuple[ManagedProcess, str]:
    """One KRaft node (process.roles=broker,controller) with its storage in ``data_dir``, formatted here."""
    classpath = kafka_classpath()
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("KETALINK_TEST_BROKER=kafka needs Java 17 (java on PATH)")
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    logs = data_dir / "kraft-logs"
    properties = data_dir / "server.properties"
    properties.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://{bootstrap}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={logs}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "",
    ]))
    log4j = data_dir / "log4j2.properties"
    log4j.write_text(LOG4J2)
    env = base_environment()
    jvm = [java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           f"-Dlog4j2.configurationFile={log4j}", "-cp", classpath]
    log_path = log_dir / "broker.log"
    with open(log_path, "ab") as log:
        subprocess.run([*jvm, "kafka.tools.StorageTool", "format", "--cluster-id", _cluster_id(),
                        "--config", str(properties), "--ignore-formatted"],
                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=120)
    listening, serving = port_open(port), _admin_lists_topics(bootstrap)
    process = ManagedProcess("broker", [*jvm, "kafka.Kafka", str(properties)], env, log_dir,
                             lambda: listening() and serving(), ready_timeout_s=120.0)
    return process, bootstrap
