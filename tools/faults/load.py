#!/usr/bin/env python3
"""One caller group of the fault harness (tools/faults/faults.py), run inside the clients'
network namespace with the Python client (clients/python, on PYTHONPATH).

    load.py SPEC.json

SPEC (JSON): {"prefix": "call id prefix", "group": "name", "addresses": ["10.231.0.11:7400", ...],
"callers": N, "deadline": seconds, "pace": seconds between call starts (0: closed loop),
"max_calls": per caller, "max_seconds": the whole run, "token": ..., "out": "records.jsonl",
"probe_addresses": [...] (optional: a client kept for `probe` commands)}.

Each caller is one ClaimlineClient (addresses=...: the client's own failover) filing shop claims
(PROTOCOL.md 9.1: a shop claim needs no Escalate) one after another, each with a call id of its
own and a fresh idempotency key, the same bytes on every retry (the client's). Every call is
bounded by the deadline, every caller by max_calls, the process by max_seconds.

Standard output: one JSON object per line: {"event": "ready"} once every caller is connected
(or tried for connect_seconds), replies to commands, {"event": "done"} at the end. Standard
input, one command a line:
    go                start calling (callers connect first and wait for it)
    inflight          reply {"event": "inflight", "calls": [[call_id, t0], ...]}
    probe CALL_ID     file one claim for CALL_ID (another logical write: a fresh key) through
                      the probe client; its record has group "probe"
    stop              finish the calls in flight and exit
End of input is `stop`. Records (one JSON line per call, written at the end to `out`): group,
caller, n, call_id, t0, t1 (time.monotonic(), the same clock as the driver's), ok, claim, code,
reason, message, served (the address that answered).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

from claimline import ClaimlineClient, ClaimlineError
from claimline.v1 import service_pb2 as svc
from claimline.v1 import types_pb2 as t

DESCRIPTION = "Fault harness: the shop's staff were rude (tools/faults)."
CLIENT_NAME = "faults"


class Group:
    def __init__(self, spec: Dict[str, Any]) -> None:
        self.spec = spec
        self.prefix: str = spec["prefix"]
        self.name: str = spec["group"]
        self.addresses: List[str] = spec["addresses"]
        self.deadline: float = float(spec["deadline"])
        self.pace: float = float(spec.get("pace", 0.0))
        self.max_calls: int = int(spec.get("max_calls", 1000))
        self.started = time.monotonic()
        self.hard_end = self.started + float(spec.get("max_seconds", 120))
        self.token: str = spec.get("token", "dev-agent-token")
        self.stop = threading.Event()
        self.go = threading.Event()
        self.lock = threading.Lock()
        self.records: List[Dict[str, Any]] = []
        self.inflight: Dict[str, Dict[str, Any]] = {}
        self.connected = 0
        self.connect_failures = 0
        self.out_lock = threading.Lock()

    def say(self, obj: Dict[str, Any]) -> None:
        with self.out_lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def over(self) -> bool:
        return self.stop.is_set() or time.monotonic() >= self.hard_end

    def connect(self, addresses: List[str], name: str) -> Optional[ClaimlineClient]:
        """A failover client, retried (bounded by the run) until one connect succeeds."""
        while not self.over():
            try:
                return ClaimlineClient.connect(
                    addresses=addresses, token=self.token, client_name=name, timeout=self.deadline
                )
            except ClaimlineError:
                with self.lock:
                    self.connect_failures += 1
                self.stop.wait(0.2)
            except OSError:
                with self.lock:
                    self.connect_failures += 1
                self.stop.wait(0.2)
        return None

    def request(self, call_id: str) -> svc.FileComplaintRequest:
        digits = int(uuid.uuid4().int % 10**9)
        return svc.FileComplaintRequest(
            idempotency_key=str(uuid.uuid4()),
            call_id=call_id,
            category=t.CategoryRef(group=t.CLAIM_GROUP_SHOP, category=t.CATEGORY_DISSATISFACTION),
            subscriber=t.Subscriber(msisdn=f"+7916{digits:09d}", value_tier=t.VALUE_TIER_2, region="77"),
            place_id="SHOP-77-0012",
            description=DESCRIPTION,
            agent_id="agent-faults",
        )

    def one_call(
        self, client: ClaimlineClient, caller: Any, n: int, call_id: str, deadline: Optional[float] = None
    ) -> Dict[str, Any]:
        request = self.request(call_id)
        record: Dict[str, Any] = {
            "group": self.name, "caller": caller, "n": n, "call_id": call_id, "key": request.idempotency_key
        }
        t0 = time.monotonic()
        with self.lock:
            self.inflight[call_id] = {"t0": t0, "key": request.idempotency_key, "group": self.name, "caller": caller}
        try:
            answer = client.file_complaint(request, timeout=self.deadline if deadline is None else deadline)
            record.update(ok=True, claim=answer.claim_number)
        except ClaimlineError as error:
            record.update(ok=False, code=int(error.code), reason=error.reason or "", message=str(error)[:400])
        except Exception as error:  # a bug or a broken client: recorded, never hidden
            record.update(ok=False, code=-1, reason=type(error).__name__, message=str(error)[:400])
        t1 = time.monotonic()
        with self.lock:
            self.inflight.pop(call_id, None)
        record.update(t0=t0, t1=t1)
        try:
            record["served"] = client.last_served_address
        except Exception:
            record["served"] = None
        return record

    def caller(self, index: int) -> None:
        client = self.connect(self.addresses, f"{CLIENT_NAME}-{self.name}-{index}")
        with self.lock:
            self.connected += 1
        self.go.wait(max(0.0, self.hard_end - time.monotonic()))
        n = 0
        next_start = time.monotonic()
        try:
            while not self.over() and n < self.max_calls:
                if client is None or client.closed:
                    client = self.connect(self.addresses, f"{CLIENT_NAME}-{self.name}-{index}")
                    if client is None:
                        break
                call_id = f"{self.prefix}.{self.name}-{index}-{n}"
                record = self.one_call(client, index, n, call_id)
                n += 1
                with self.lock:
                    self.records.append(record)
                if self.pace > 0:
                    next_start += self.pace
                    delay = next_start - time.monotonic()
                    if delay > 0:
                        self.stop.wait(delay)
                    else:
                        next_start = time.monotonic()  # late (a slow call): no burst to catch up
        finally:
            if client is not None:
                try:
                    client.close()
                except Exception:
                    pass

    def probe(self, client: Optional[ClaimlineClient], call_id: str) -> None:
        if client is None:
            client = self.connect(self.spec["probe_addresses"], f"{CLIENT_NAME}-probe")
        if client is None:
            return
        record = self.one_call(client, "probe", 0, call_id, float(self.spec.get("probe_deadline", self.deadline)))
        record["group"] = "probe"
        with self.lock:
            self.records.append(record)
        self.say({"event": "probe", "record": record})


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    group = Group(spec)
    threads = [threading.Thread(target=group.caller, args=(i,), daemon=True) for i in range(int(spec["callers"]))]
    for thread in threads:
        thread.start()
    probe_client: Optional[ClaimlineClient] = None
    if spec.get("probe_addresses"):
        probe_client = group.connect(spec["probe_addresses"], f"{CLIENT_NAME}-probe")
    connect_end = time.monotonic() + float(spec.get("connect_seconds", 20))
    while time.monotonic() < connect_end:
        with group.lock:
            if group.connected >= len(threads):
                break
        time.sleep(0.02)
    with group.lock:
        group.say({"event": "ready", "connected": group.connected, "callers": len(threads),
                   "connect_failures": group.connect_failures, "t": time.monotonic()})
    probes: List[threading.Thread] = []

    def read_commands() -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "go":
                group.go.set()
                group.say({"event": "going", "t": time.monotonic()})
            elif words[0] == "inflight":
                with group.lock:
                    calls = sorted(([call_id, v["t0"]] for call_id, v in group.inflight.items()), key=lambda c: c[1])
                group.say({"event": "inflight", "calls": calls, "t": time.monotonic()})
            elif words[0] == "probe" and len(words) == 2:
                thread = threading.Thread(target=group.probe, args=(probe_client, words[1]), daemon=True)
                thread.start()
                probes.append(thread)
            elif words[0] == "stop":
                break
        group.stop.set()
        group.go.set()

    reader = threading.Thread(target=read_commands, daemon=True)
    reader.start()
    while not group.over():
        group.stop.wait(0.1)
    group.stop.set()
    group.go.set()
    # The calls in flight end within their deadline (plus the client's own slack).
    longest = max(group.deadline, float(spec.get("probe_deadline", 0)))
    join_end = time.monotonic() + longest + 5.0
    for thread in threads + probes:
        thread.join(timeout=max(0.0, join_end - time.monotonic()))
    stuck = sum(1 for thread in threads + probes if thread.is_alive())
    with group.lock:
        records = list(group.records)
        inflight = [dict(v, call_id=call_id) for call_id, v in group.inflight.items()]
    with open(spec["out"], "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    group.say({"event": "done", "records": len(records), "stuck_callers": stuck,
               "unfinished": inflight, "connect_failures": group.connect_failures})
    if probe_client is not None:
        try:
            probe_client.close()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
