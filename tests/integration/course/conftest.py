"""The orders and documentation services as real processes for the treatment-course tests (real broker and EHR
sandbox from the session fixtures, SMART auth off as in the other integration tests). Each consumer group starts at
the end of its topics (``tests/support/service_stack.py``): the broker is shared, and other tests' events about the
same seeded patients (an order the orders tests signed, a session the documentation tests charted) must not reach
this course's services."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.course.support import CourseClinic
from tests.integration.documentation.clinic import Clinic
from tests.support.service_stack import services_reading_from_the_end


@pytest.fixture(scope="package")
def course_stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CourseClinic]:
    with services_reading_from_the_end(("orders", "documentation"), "course", broker.bootstrap, ehr.base_url,
                                       log_dir, tmp_path_factory.mktemp("course")) as urls:
        yield CourseClinic(urls["orders"], Clinic(urls["documentation"], broker.bootstrap, ehr), broker.bootstrap,
                           ehr)
