"""The fuzz campaign (`./tasks fuzz`), run small: it must find no fault, escape or leak."""

from __future__ import annotations

import random

from tests import fuzz


def test_a_small_campaign_is_clean() -> None:
    tally, before, after = fuzz.run(300, seed=11)
    report = fuzz.table(tally, before, after, 300, 11)
    assert tally.requests == 300
    assert tally.clean, report
    assert sum(tally.statuses.values()) == 300
    assert "| transcoder 5xx | 0 |" in report


def test_mutations_are_seeded() -> None:
    first = [fuzz.mutate(seed, random.Random(5)) for seed in fuzz.SEEDS]
    second = [fuzz.mutate(seed, random.Random(5)) for seed in fuzz.SEEDS]
    assert first == second
    assert {m.method for m in first} | {m.path for m in first}


def test_a_fault_is_reported_and_fails_the_campaign() -> None:
    tally = fuzz.Tally()
    tally.faults.append("#1 http_api GET '/x' ['path']: 500 TranscoderError")
    assert not tally.clean
    assert "| transcoder 5xx | 1 |" in fuzz.table(tally, 1.0, 2.0, 1, 1)
