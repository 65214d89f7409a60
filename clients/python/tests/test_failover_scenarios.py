"""PROTOCOL.md 8.1 as data: proto/failover/scenarios.json replayed against claimline.failover,
the planner the blocking and asyncio clients carry out. The Swift and C clients replay the same
file against their own implementations."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Dict

import pytest

from claimline import failover

SCENARIOS_PATH = pathlib.Path(__file__).resolve().parents[3] / "proto" / "failover" / "scenarios.json"
DOCUMENT = json.loads(SCENARIOS_PATH.read_text(encoding="utf-8"))


def _settings() -> failover.FailoverSettings:
    return failover.FailoverSettings(**DOCUMENT["settings"])


def test_the_table_uses_the_clients_defaults() -> None:
    assert _settings() == failover.FailoverSettings()


@pytest.mark.parametrize("scenario", DOCUMENT["scenarios"], ids=lambda s: s["name"])
def test_scenario(scenario: Dict[str, Any]) -> None:
    book = failover.AddressBook(scenario["addresses"], _settings())
    for number, call in enumerate(scenario["calls"], 1):
        where = f"{scenario['name']}, call {number}"
        plan = failover.CallPlan(book, call["kind"], call["start_ms"], call["budget_ms"],
                                 jitter=lambda: DOCUMENT["jitter"])
        now = call["start_ms"]
        for index, expected in enumerate(call["attempts"], 1):
            step = plan.next(now)
            assert isinstance(step, failover.Attempt), f"{where}: attempt {index} expected, got {step}"
            assert (step.address, step.at_ms, step.timeout_ms) == (
                expected["address"], expected["at_ms"], expected["timeout_ms"]), f"{where}, attempt {index}"
            after = step.timeout_ms if expected["outcome"] == failover.ATTEMPT_TIMEOUT else expected["after_ms"]
            now = step.at_ms + after
            status = expected.get("status")
            plan.record(step, expected["outcome"], now, expected.get("retry_after_ms", 0),
                        (status["code"], status["reason"]) if status else None)
        end = plan.next(now)
        assert isinstance(end, failover.Finish), f"{where}: expected the call to end, got {end}"
        result = call["result"]
        if result.get("answer"):
            assert end.answer, f"{where}: {end}"
        else:
            assert (end.answer, end.code, end.reason) == (False, result["code"], result["reason"]), where


def test_every_outcome_and_kind_is_exercised() -> None:
    outcomes = {a["outcome"] for s in DOCUMENT["scenarios"] for c in s["calls"] for a in c["attempts"]}
    kinds = {c["kind"] for s in DOCUMENT["scenarios"] for c in s["calls"]}
    assert outcomes == set(failover.OUTCOMES)
    assert kinds == {failover.READ, failover.WRITE, failover.KEYLESS_WRITE}
