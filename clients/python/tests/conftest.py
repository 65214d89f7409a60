"""Fixtures: the golden vectors and a live claimlined for the end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from claimline import ClaimlineClient

CLIENT_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CLIENT_DIR.parent.parent
VECTORS = REPO_ROOT / "proto" / "vectors" / "v1.json"
CONFIG = REPO_ROOT / "config" / "claimline.json"
STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 20.0  # the dev config's grace period is 10 s

ADMIN_TOKEN = "dev-admin-token"
AGENT_TOKEN = "dev-agent-token"
IVR_TOKEN = "dev-ivr-token"
SUPERVISOR_TOKEN = "dev-supervisor-token"


def load_vectors() -> List[Dict[str, Any]]:
    with VECTORS.open(encoding="utf-8") as f:
        document = json.load(f)
    assert document["version"].startswith("1."), document["version"]
    vectors: List[Dict[str, Any]] = document["vectors"]
    return vectors


def claimlined_path() -> Path:
    """$CLAIMLINED (relative paths are taken from the repo root), else the debug build."""
    path = Path(os.environ.get("CLAIMLINED") or ".build/debug/claimlined")
    return path if path.is_absolute() else REPO_ROOT / path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    host: str
    port: int
    process: "subprocess.Popen[bytes]"
    log: Path
    killed: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self, token: str, client_name: str = "pytest") -> ClaimlineClient:
        return ClaimlineClient.connect(self.host, self.port, token, client_name, timeout=5.0)

    def kill(self) -> None:
        """SIGKILL (a crash: no GOAWAY, sockets reset by the kernel) and wait for it."""
        self.killed = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)

    def stop(self) -> int:
        """SIGTERM, wait (bounded), return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"claimlined did not stop within {SHUTDOWN_TIMEOUT_S} s of SIGTERM:\n{self.log_tail()}")
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def run_claimlined(tmp: Path) -> Iterator[Server]:
    """Starts claimlined on a free port with the dev config; on exit SIGTERMs it and checks it exits 0."""
    binary = claimlined_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"claimlined not found at {binary}: build it (swift build --product claimlined) "
            "or set CLAIMLINED to its path",
            pytrace=False,
        )
    log = tmp / "claimlined.log"
    port = _free_port()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(binary), "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp / "data"), "--config", str(CONFIG)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    srv = Server("127.0.0.1", port, process, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"claimlined exited with {process.returncode} at start:\n{srv.log_tail()}", pytrace=False)
            try:
                socket.create_connection((srv.host, port), timeout=1.0).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"claimlined not accepting after {STARTUP_TIMEOUT_S} s:\n{srv.log_tail()}", pytrace=False)
                time.sleep(0.1)
        yield srv
    finally:
        srv.stop()
    if not srv.killed:
        assert process.returncode == 0, f"claimlined exited with {process.returncode}:\n{srv.log_tail()}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One claimlined for the whole session."""
    with run_claimlined(tmp_path_factory.mktemp("claimlined")) as srv:
        yield srv
