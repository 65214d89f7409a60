"""claimlined's admin listener scraped during a short load and parsed with a real Prometheus
text parser (prometheus_client): the counters move by exactly the calls the load harness made."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Server, _free_port, claimlined_path, run_claimlined

Series = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]


def scrape(port: int) -> Tuple[Series, Dict[str, str]]:
    """Every sample of /metrics by (name, sorted labels), and each family's type."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode("utf-8")
    series: Series = {}
    types: Dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return series, types


def calls(series: Series) -> Dict[Tuple[str, str], float]:
    """claimline_calls_total by (method, code)."""
    out: Dict[Tuple[str, str], float] = {}
    for (name, labels), value in series.items():
        if name == "claimline_calls_total":
            label = dict(labels)
            out[(label["method"], label["code"])] = value
    return out


@pytest.fixture()
def monitored(tmp_path: Path) -> Iterator[Tuple[Server, int]]:
    admin_port = _free_port()
    with run_claimlined(tmp_path, extra_args=["--admin-listen", f"127.0.0.1:{admin_port}"]) as srv:
        yield srv, admin_port


def test_counters_move_by_exactly_the_calls_made(monitored: Tuple[Server, int], tmp_path: Path) -> None:
    srv, admin_port = monitored
    before, types = scrape(admin_port)
    assert types["claimline_calls"] == "counter"
    assert types["claimline_call_duration_seconds"] == "histogram"
    assert types["process_cpu_seconds"] == "counter"
    assert types["process_resident_memory_bytes"] == "gauge"

    # Scrape all along the load: /metrics answers under load and counters never go back.
    seen: List[float] = []
    stop = threading.Event()

    def scraper() -> None:
        while not stop.is_set():
            series, _ = scrape(admin_port)
            seen.append(sum(calls(series).values()))
            time.sleep(0.1)

    thread = threading.Thread(target=scraper)
    thread.start()
    report = tmp_path / "load.json"
    harness = claimlined_path().parent / "claimline-load"
    try:
        subprocess.run(
            [str(harness), "run", "--server", f"127.0.0.1:{srv.port}", "--token", "dev-admin-token", "--scenario", "contact",
             "--connections", "4", "--in-flight", "8", "--requests", "3000", "--warmup", "0", "--quiet", "--json", str(report)],
            check=True, timeout=120, stdout=subprocess.DEVNULL,
        )
    finally:
        stop.set()
        thread.join()
    after, _ = scrape(admin_port)

    assert len(seen) >= 2
    assert seen == sorted(seen), "a counter went backwards"
    result = json.loads(report.read_text())
    expected: Dict[Tuple[str, str], float] = {}
    for method in result["total"]["methods"]:
        if method["name"] == "Contact":
            continue  # the harness's own figure for a whole contact, not a method
        if method["ok"]:
            expected[(method["name"], "OK")] = float(method["ok"])
        for code, count in method["errors"].items():
            expected[(method["name"], code)] = float(count)
    assert sum(expected.values()) == 3000  # --requests counts calls
    moved = {key: value - calls(before).get(key, 0.0) for key, value in calls(after).items()}
    moved = {key: value for key, value in moved.items() if value}
    assert moved == expected

    # The latency histograms counted the same calls; the writer's batches hold every write.
    for (name, status), count in expected.items():
        key = ("claimline_call_duration_seconds_count", (("method", name),))
        assert after[key] - before.get(key, 0.0) >= count
    writes = sum(count for (name, _), count in expected.items() if name in ("Escalate", "Retain", "FileComplaint"))
    batched = after[("claimline_writer_batch_size_sum", ())] - before.get(("claimline_writer_batch_size_sum", ()), 0.0)
    assert batched == writes
    filed = sum(v for (n, labels), v in after.items() if n == "claimline_claims_filed_total")
    assert filed == expected.get(("FileComplaint", "OK"), 0.0)
    assert after[("claimline_connections_open", ())] == 0.0
    assert after[("claimline_streams_in_flight", ())] == 0.0
    assert after[("process_resident_memory_bytes", ())] > 1_000_000


def test_probes(monitored: Tuple[Server, int]) -> None:
    _, admin_port = monitored
    for path, body in (("/healthz", b"ok\n"), ("/readyz", b"ready\n")):
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}{path}", timeout=10) as response:
            assert response.status == 200
            assert response.read() == body
