"""Every Kafka topic Ketalink uses, and who reads and writes it: the one source of truth for the code, the local
broker set-up and the Kubernetes KafkaTopic/KafkaUser manifests (tests compare those against this module)."""
from __future__ import annotations

from dataclasses import dataclass

EHR_EVENTS = "ehr.events"
EHR_RESPONSES = "ehr.responses"
INTAKE_EVENTS = "ketalink.intake.events"
ORDERS_EVENTS = "ketalink.orders.events"
DOCUMENTATION_EVENTS = "ketalink.documentation.events"
DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    return topic + DEAD_LETTER_SUFFIX


@dataclass(frozen=True)
class TopicAccess:
    """What one process reads and writes; its dead-letter topics follow from what it reads."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]

    @property
    def dead_letter_writes(self) -> tuple[str, ...]:
        return tuple(dead_letter_topic(t) for t in self.reads)


ACCESS: dict[str, TopicAccess] = {
    "intake": TopicAccess(reads=(EHR_EVENTS, EHR_RESPONSES), writes=(INTAKE_EVENTS,)),
    "orders": TopicAccess(reads=(EHR_EVENTS, EHR_RESPONSES, INTAKE_EVENTS, DOCUMENTATION_EVENTS),
                          writes=(ORDERS_EVENTS,)),
    "documentation": TopicAccess(reads=(EHR_EVENTS, EHR_RESPONSES, ORDERS_EVENTS), writes=(DOCUMENTATION_EVENTS,)),
    # The EHR's integration engine (the local sandbox plays it).
    "ehr": TopicAccess(
        reads=(INTAKE_EVENTS, ORDERS_EVENTS, DOCUMENTATION_EVENTS), writes=(EHR_EVENTS, EHR_RESPONSES)
    ),
}


def all_topics() -> list[str]:
    """Every topic, dead-letter topics included, sorted."""
    names: set[str] = set()
    for access in ACCESS.values():
        names.update(access.reads, access.writes, access.dead_letter_writes)
    return sorted(names)
