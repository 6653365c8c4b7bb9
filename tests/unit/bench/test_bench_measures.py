"""The benchmark's own arithmetic and log reading (``make bench`` is not part of ``make test``; these are)."""
import json
import math
from pathlib import Path

import pytest

from bench.config import parse
from bench.report import ApiRow, InboundRow, MemoryRow, RawRow, Report
from bench.stats import Latency, Throughput, percentile
from bench.watch import ProcessedLog


def test_percentiles_are_observed_values_by_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert math.isnan(percentile([], 50))
    assert Latency.of_seconds([0.010, 0.020]) == Latency(2, 10.0, 20.0, 20.0)
    assert Throughput.between(100.0, [101.0, 104.0]).per_second == 0.5


def _line(offset: int, at: str, outcome: str = "done") -> str:
    return json.dumps({"asctime": at, "message": "message processed", "topic": "ehr.events", "partition": 1,
                       "offset": offset, "outcome": outcome}) + "\n"


def test_processed_log_reads_only_new_complete_lines(tmp_path: Path):
    log = tmp_path / "orders.log"
    log.write_text(_line(0, "2026-01-02 03:04:05,100"))
    processed = ProcessedLog([log])  # what was there before is not this run's
    with open(log, "a") as out:
        out.write(_line(1, "2026-01-02 03:04:05,250") + '{"message": "other"}\n' + _line(2, "2026-01-02 03:04:06,000",
                                                                                           "dead-lettered")[:40])
    processed.refresh()
    assert list(processed.done) == [("ehr.events", 1, 1)]
    at, outcome = processed.done[("ehr.events", 1, 1)]
    assert outcome == "done" and at % 1 == pytest.approx(0.25)
    with open(log, "a") as out:
        out.write(_line(2, "2026-01-02 03:04:06,000", "dead-lettered")[40:])
    processed.refresh()
    assert processed.done[("ehr.events", 1, 2)][1] == "dead-lettered"


def test_report_states_each_goal_as_met_or_not():
    report = Report(raw=[RawRow("auto", 1000.0, 5.0, 9.0, 1700)],
                    inbound=[InboundRow("orders", "cpoe", "committed (order stored)", 20.0, 60.0, 300.0, 0.02)],
                    api=[ApiRow("dose preview (orders)", 8, 200, 30.0, 45.0, 100.0, 50.0),
                         ApiRow("vitals entry (documentation)", 8, 200, 40.0, 80.0, 50.0, 50.0)],
                    memory=[MemoryRow("orders", 100.0, 130.0)])
    text = report.render()
    assert "inbound ≥ 50% of raw: orders 2.0% → NOT met" in text
    assert "dose preview (orders) p99 < 50 ms: 45.0 ms → met" in text
    assert "vitals entry (documentation) p99 < 50 ms: 80.0 ms → NOT met" in text
    assert "idle RSS < 120 MB: orders 100 MB → met" in text


def test_parameters_are_checked():
    assert parse(["--messages", "10", "--only", "raw,orders"]).phases == ("raw", "orders")
    with pytest.raises(SystemExit):
        parse(["--only", "everything"])
    with pytest.raises(SystemExit):
        parse(["--clients", "0"])
