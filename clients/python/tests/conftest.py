"""Fixtures: the golden vectors and a live claimlined for the end-to-end tests (plain TCP, and
over TLS with certificates made at test time by tools/tls/make-certs.sh)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

from claimline import ClaimlineClient, TLSConfig

CLIENT_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = CLIENT_DIR.parent.parent
VECTORS = REPO_ROOT / "proto" / "vectors" / "v1.json"
CONFIG = REPO_ROOT / "config" / "claimline.json"
MAKE_CERTS = REPO_ROOT / "tools" / "tls" / "make-certs.sh"
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
    certs: Optional[Path] = None  # a TLS server: the folder of make-certs.sh's files

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self, token: str, client_name: str = "pytest", tls: Optional[TLSConfig] = None) -> ClaimlineClient:
        return ClaimlineClient.connect(self.host, self.port, token, client_name, timeout=5.0, tls=tls)

    def tls(self, cert: Optional[str] = None, ca: str = "ca", **options: Any) -> TLSConfig:
        """TLS settings trusting `ca`.pem of this server's certificates, presenting `cert`.pem/.key."""
        assert self.certs is not None, "not a TLS server"
        return TLSConfig(
            ca_file=str(self.certs / f"{ca}.pem"),
            cert_file=None if cert is None else str(self.certs / f"{cert}.pem"),
            key_file=None if cert is None else str(self.certs / f"{cert}.key"),
            **options,
        )

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
def run_claimlined(tmp: Path, config: Path = CONFIG, extra_args: Sequence[str] = ()) -> Iterator[Server]:
    """Starts claimlined on a free port with `config` (the dev config) and `extra_args`; on exit
    SIGTERMs it and checks it exits 0. The readiness probe is a bare TCP connect (closed at once),
    so it works for TLS ports too."""
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
            [str(binary), "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp / "data"), "--config", str(config)]
            + list(extra_args),
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


# -- TLS ------------------------------------------------------------------------------------------

#: Clients of the TLS server's config (beside the dev tokens): ops-console by certificate only
#: (admin), ivr-gateway by certificate or token (ivr).
TLS_CLIENTS: List[Dict[str, str]] = [
    {"name": "ops-console", "role": "admin", "certificateSubject": "CN=ops-console,O=Claimline Test"},
    {"name": "ivr-gateway", "token": "ivr-gateway-token", "role": "ivr", "certificateSubject": "CN=ivr-gateway"},
]


def make_certs(folder: Path) -> Path:
    """Runs tools/tls/make-certs.sh into `folder` (needs the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests need the openssl command (tools/tls/make-certs.sh)", pytrace=False)
    result = subprocess.run(["sh", str(MAKE_CERTS), str(folder)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"make-certs.sh failed ({result.returncode}):\n{result.stdout}{result.stderr}", pytrace=False)
    return folder


def tls_config_file(folder: Path) -> Path:
    """The dev config (its clients, limits, policy) plus the certificate clients, in `folder`."""
    with CONFIG.open(encoding="utf-8") as f:
        config: Dict[str, Any] = json.load(f)
    config["serverName"] = "claimlined-tls-test"
    config["policyFile"] = str((CONFIG.parent / config["policyFile"]).resolve())
    config["clients"] = list(config["clients"]) + TLS_CLIENTS
    path = folder / "claimline-tls.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


@contextlib.contextmanager
def run_tls_claimlined(tmp: Path, certs: Path, require_client_cert: bool = False) -> Iterator[Server]:
    """claimlined over TLS (server.pem), asking for client certificates of ca.pem (mTLS)."""
    tmp.mkdir(parents=True, exist_ok=True)
    args = [
        "--tls-cert", str(certs / "server.pem"),
        "--tls-key", str(certs / "server.key"),
        "--tls-client-ca", str(certs / "ca.pem"),
    ]  # fmt: skip
    if require_client_cert:
        args.append("--tls-require-client-cert")
    with run_claimlined(tmp, config=tls_config_file(tmp), extra_args=args) as srv:
        srv.certs = certs
        yield srv


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA and certificates (make-certs.sh), made once per session, never committed."""
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory, tls_certs: Path) -> Iterator[Server]:
    """One claimlined over TLS that accepts, but does not require, client certificates."""
    with run_tls_claimlined(tmp_path_factory.mktemp("claimlined-tls"), tls_certs) as srv:
        yield srv


@pytest.fixture(scope="session")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, tls_certs: Path) -> Iterator[Server]:
    """One claimlined over TLS with --tls-require-client-cert."""
    with run_tls_claimlined(tmp_path_factory.mktemp("claimlined-mtls"), tls_certs, require_client_cert=True) as srv:
        yield srv
