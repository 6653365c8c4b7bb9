"""The orders and documentation services as real processes for the treatment-course tests (real broker and EHR
sandbox from the session fixtures, SMART auth off as in the other integration tests). Each consumer group starts at
the end of its topics: the broker is shared, and other tests' events about the same seeded patients (an order the
orders tests signed, a session the documentation tests charted) must not reach this course's services."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from shared.events.topics import ACCESS
from tests.integration.course.support import CourseClinic
from tests.integration.documentation.clinic import Clinic
from tests.support.processes import service


@pytest.fixture(scope="package")
def course_stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CourseClinic]:
    started, urls = [], {}
    data_dir = tmp_path_factory.mktemp("course")
    try:
        for name in ("orders", "documentation"):
            group = f"ketalink-{name}-course-{uuid.uuid4().hex[:8]}"
            _start_group_at_end(broker.bootstrap, group, ACCESS[name].reads)
            process, base_url = service(name, log_dir, data_dir, broker.bootstrap, ehr.base_url,
                                        extra_env={"CONSUMER_GROUP": group})
            started.append(process.start())
            urls[name] = base_url
        yield CourseClinic(urls["orders"], Clinic(urls["documentation"], broker.bootstrap, ehr), broker.bootstrap,
                           ehr)
    finally:
        for process in started:
            process.stop()


def _start_group_at_end(bootstrap: str, group: str, topics: tuple[str, ...]) -> None:
    """Commit the current end of ``topics`` as ``group``'s offsets (topics not created yet start empty anyway)."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic) or ()]
        if partitions:
            consumer.assign(partitions)
            ends = consumer.end_offsets(partitions)
            consumer.commit({partition: OffsetAndMetadata(end, "", -1) for partition, end in ends.items()})
    finally:
        consumer.close()
