"""kafka-python checks and writes a CRC-32C for every record batch; it uses the C ``crc32c`` package when it can
import it, and a pure-Python one (~0.26 ms per 2 kB batch, issue 19) otherwise. requirements.txt pins the package:
this proves kafka-python really picked it up and that it computes the same checksums as kafka-python's own."""
from __future__ import annotations

import os

import crc32c
from kafka.record import util
from kafka.record._crc32c import crc as pure_python_crc32c


def test_kafka_python_uses_the_c_crc32c() -> None:
    assert util._crc32c is crc32c.crc32c


def test_the_c_crc32c_gives_kafka_pythons_checksums() -> None:
    for size in (0, 1, 63, 2236, 65536):
        data = os.urandom(size)
        assert util.calc_crc32c(data) == pure_python_crc32c(data)
    assert util.calc_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720, B.4)
