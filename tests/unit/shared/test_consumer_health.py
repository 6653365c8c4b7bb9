"""Worker readiness means work is done: a consumer that cannot join, fetch or commit, or a relay that cannot send its
backlog, is stalled once that lasts longer than the threshold, and ready again on its next success. The real broker
cases are in tests/integration/test_worker_readiness.py; here the rule itself, on a controlled clock."""
import pytest
from kafka import TopicPartition
from prometheus_client import REGISTRY

from shared.config import SettingsError, load_settings
from shared.events.consumer_health import ConsumerHealth, RelayHealth, WorkerHealth, WorkerHealthSettings

STALL_S = 60.0
ASSIGNED = TopicPartition("ehr.events", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeCoordinator:
    """Named fake of kafka-python's group coordinator: the two facts the health reads."""

    def __init__(self, stable: bool, coordinator_known: bool = True):
        self._stable = stable
        self._known = coordinator_known

    def stable(self) -> bool:
        return self._stable

    def coordinator_unknown(self) -> bool:
        return not self._known


class FakeConsumer:
    """Named fake of a KafkaConsumer after a poll: membership, assignment, highwater and the group's offsets."""

    def __init__(self, joined: bool, highwater: int | None = 10, group_committed: int | None = 4,
                 coordinator_known: bool = True):
        self._coordinator = FakeCoordinator(joined, coordinator_known)
        self._highwater = highwater
        self._group_committed = group_committed
        self.committed_asked = 0

    def assignment(self) -> set[TopicPartition]:
        return {ASSIGNED}

    def highwater(self, partition: TopicPartition) -> int | None:
        return self._highwater

    def committed(self, partition: TopicPartition, timeout_ms: int | None = None) -> int | None:
        self.committed_asked += 1
        return self._group_committed

    def beginning_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict:
        return {p: 2 for p in partitions}


def lag(consumer: str = "c") -> float | None:
    return REGISTRY.get_sample_value("ketalink_consumer_lag", {"consumer": consumer, "topic": ASSIGNED.topic,
                                                               "partition": str(ASSIGNED.partition)})


def test_a_consumer_is_not_ready_until_it_first_joins_its_group():
    clock = Clock()
    health = ConsumerHealth("new", clock=clock)
    assert health.problem(STALL_S) == "consumer new starting: not joined its group yet (0 s)"
    clock.now += 3
    health.polled(FakeConsumer(joined=False))
    assert health.problem(STALL_S) == "consumer new joining: not joined its group yet (3 s)"
    health.polled(FakeConsumer(joined=True))
    assert health.problem(STALL_S) is None


def test_a_joined_consumer_is_stalled_after_the_threshold_only():
    clock = Clock()
    health = ConsumerHealth("c", clock=clock)
    health.polled(FakeConsumer(joined=True))
    clock.now += STALL_S
    health.polled(FakeConsumer(joined=False))
    assert health.problem(STALL_S) is None  # not before the threshold: a rebalance takes a few seconds
    clock.now += 1
    assert health.problem(STALL_S) == "consumer c joining: joined, fetched or committed not for 61 s"


def test_a_consumer_whose_coordinator_is_gone_is_stalled_and_ready_again_when_it_polls_as_a_member():
    clock = Clock()
    health = ConsumerHealth("c", clock=clock)
    health.polled(FakeConsumer(joined=True))
    clock.now += STALL_S + 5
    health.polled(FakeConsumer(joined=True, coordinator_known=False))
    assert "not for 65 s" in health.problem(STALL_S)
    health.polled(FakeConsumer(joined=True))
    assert health.problem(STALL_S) is None


def test_commits_count_as_work_while_a_long_batch_is_processed():
    clock = Clock()
    health = ConsumerHealth("busy", clock=clock)
    health.polled(FakeConsumer(joined=True))
    for _ in range(5):
        clock.now += STALL_S / 2
        health.committed(ASSIGNED, 5)
    assert health.problem(STALL_S) is None


def test_a_failed_loop_names_the_error_type_only():
    clock = Clock()
    health = ConsumerHealth("failing", clock=clock)
    health.failed(ConnectionError("broker at 10.0.0.1 said no for patient 123"))
    problem = health.problem(STALL_S)
    assert problem is not None and "ConnectionError" in problem and "123" not in problem


def test_lag_is_highwater_minus_the_committed_offset():
    health = ConsumerHealth("c")
    consumer = FakeConsumer(joined=True, highwater=10, group_committed=4)
    health.polled(consumer)
    assert lag() == 6.0
    health.committed(ASSIGNED, 9)
    health.polled(consumer)
    assert lag() == 1.0
    assert consumer.committed_asked == 1  # the group's offset is asked once per assignment, then followed locally


def test_lag_of_a_partition_nothing_was_committed_on_counts_from_its_start():
    health = ConsumerHealth("fresh")
    health.polled(FakeConsumer(joined=True, highwater=10, group_committed=None))
    assert lag("fresh") == 8.0  # beginning offset 2


def test_lag_goes_when_the_loop_loses_its_clients():
    health = ConsumerHealth("lost")
    health.polled(FakeConsumer(joined=True))
    assert lag("lost") == 6.0
    health.failed(TimeoutError())
    assert lag("lost") is None


def test_a_relay_is_stalled_only_while_it_keeps_failing_past_the_threshold():
    clock = Clock()
    relay = RelayHealth("outbox-relay", clock=clock)
    clock.now += 100
    relay.succeeded()
    clock.now += 15  # the failing pass waited out a connection timeout: counted from the last good pass
    relay.failed(TimeoutError())
    clock.now += STALL_S - 15
    relay.failed(TimeoutError())
    assert relay.problem(STALL_S) is None
    clock.now += 1
    assert relay.problem(STALL_S) == "outbox-relay: cannot send its backlog to the broker for 61 s " \
                                     "(last error TimeoutError)"
    relay.succeeded()
    assert relay.problem(STALL_S) is None


def test_the_worker_lists_the_problems_of_its_tracked_components():
    clock = Clock()
    worker = WorkerHealth()
    worker.configure(WorkerHealthSettings(stall_after_s=5))
    relay = worker.track(RelayHealth("outbox-relay", clock=clock))
    consumer = worker.track(ConsumerHealth("c", clock=clock))
    relay.failed(TimeoutError())
    clock.now += 6
    assert worker.problems()[1].startswith("consumer c starting: not joined")
    assert len(worker.problems()) == 2
    worker.untrack(consumer)
    assert [p.split(":")[0] for p in worker.problems()] == ["outbox-relay"]


def test_the_threshold_is_a_validated_setting_with_a_documented_default():
    assert load_settings(WorkerHealthSettings, "KETALINK_WORKER_", {}).stall_after_s == 60.0
    assert load_settings(WorkerHealthSettings, "KETALINK_WORKER_", {"KETALINK_WORKER_STALL_AFTER_S": "5"}
                         ).stall_after_s == 5.0
    with pytest.raises(SettingsError, match="stall_after_s"):
        load_settings(WorkerHealthSettings, "KETALINK_WORKER_", {"KETALINK_WORKER_STALL_AFTER_S": "0"})
