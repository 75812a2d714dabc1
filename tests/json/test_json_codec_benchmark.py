"""The codec micro-benchmark runs end to end (tiny iteration count: no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import codec


def test_the_benchmark_times_both_implementations_on_both_messages() -> None:
    results = codec.run(2)
    assert set(results) == {"book", "kinds"}
    for operations in results.values():
        assert set(operations) == {"encode", "decode", "dumps", "parse"}
        for row in operations.values():
            assert row["codec_us"] > 0
            assert row["json_format_us"] > 0
            assert row["speedup"] == pytest.approx(row["json_format_us"] / row["codec_us"])


def test_the_benchmark_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    codec.main(["1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "message",
        "operation",
        "codec",
        "µs",
        "json_format",
        "µs",
        "speedup",
    ]
    assert len(lines) == 1 + 2 * 4
