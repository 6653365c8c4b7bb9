"""JSON logs on stdout that carry ids, never PHI.

Code logs record ids, topics, offsets and outcomes in ``extra``; it never logs resources, names, birth dates or
free text. As a second guard, ``PhiRedactingFilter`` drops extra fields whose names suggest patient data.
"""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

PHI_FIELD_NAMES = frozenset({"given", "family", "birth_date", "birthdate", "birthDate", "address",
                             "telecom", "phone", "email", "mrn", "ssn", "resource", "payload", "body", "note"})


class PhiRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for field in PHI_FIELD_NAMES:
            if field in record.__dict__:
                record.__dict__[field] = "[redacted]"
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                       static_fields={"service": service}))
    handler.addFilter(PhiRedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "urllib3", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Group membership (joins, elections, leaves) is rare and is what an operator needs when a consumer stalls.
    logging.getLogger("kafka.coordinator").setLevel(logging.INFO)
