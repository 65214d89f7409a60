#!/usr/bin/env python3
"""Claimline's fault harness: real network faults between claimlined instances, PostgreSQL and
the Python client, each in a Linux network namespace of its own. Run it through run.sh (root).

    faults.py [--quick] [--rows a,b,...] [--claimlined PATH] [--write-doc] [--report-only]
              [--keep] [--json FILE] [--build-kind KIND]
    faults.py --cleanup        remove what earlier runs left (namespaces, processes, temp dirs)
    faults.py --list           the rows and their targets

The network (nothing else is routed; no address outside 10.231.0.0/24 and loopback is used):

    clf-<pid>-hub   the bridge br0; one veth per namespace below
    clf-<pid>-db    PostgreSQL (tools/pg/cluster.sh), 10.231.0.10
    clf-<pid>-a     claimlined A, 10.231.0.11:7400 (admin :9400; the delaying relay :7500)
    clf-<pid>-b     claimlined B, 10.231.0.12:7400 (admin :9400)
    clf-<pid>-db2   the HA rows' second database machine, 10.231.0.13
    clf-<pid>-c     the callers (tools/faults/load.py with clients/python), 10.231.0.20

The HA rows (pg-failover, pg-failover-async) use a PostgreSQL primary in clf-<pid>-db and its
synchronous standby in clf-<pid>-db2 (tools/pg/cluster.sh init --primary / standby), made the
first time such a row runs, and give A and B the multi-host URL
postgres://claimline@10.231.0.10:P1,10.231.0.13:P2/claimline?target_session_attrs=read-write.
cluster.sh reaches a node's peer on 127.0.0.1 (replication, pg_basebackup, pg_rewind, its own
psql), so in each of the two namespaces a forwarder (relay.py, no delay) listens on 127.0.0.1 at
the other node's port and connects to that node's address over the bridge.

Each row starts A and B afresh on the one database, starts its caller groups (each a process of
threads, each thread one ClaimlineClient filing shop claims with its own call ids and
idempotency keys), measures a baseline, applies the fault, holds it, ends it, watches the
recovery, stops the callers (every call bounded by its deadline, every caller by a count and the
run by time), then checks every call against the database (psql): acknowledged claims missing
(lost), call ids stored twice (duplicated), calls whose final error said "not applied" that were
applied. Everything made is removed at the end, after a failure or Ctrl-C too.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tools" / "faults"
CLUSTER_SH = REPO / "tools" / "pg" / "cluster.sh"
DOC = REPO / "docs" / "SCALING.md"
BEGIN_MARK = "<!-- faults:begin -->"
END_MARK = "<!-- faults:end -->"

PREFIX = "clf"
SUBNET = "10.231.0"
HOSTS = {"db": 10, "a": 11, "b": 12, "db2": 13, "c": 20}
ROLES = ("hub", "db", "a", "b", "db2", "c")
SERVICE_PORT = 7400
ADMIN_PORT = 9400
RELAY_PORT = 7500
NFT_TABLE = "clf_fault"

STARTED = time.monotonic()

# ---------------------------------------------------------------------------------------------
# small helpers


def log(message: str) -> None:
    print(f"[faults {time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The harness could not do what it had to (not a miss of a target)."""


def sh(
    cmd: Sequence[Any],
    timeout: float = 30.0,
    check: bool = True,
    input: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
) -> subprocess.CompletedProcess:
    args = [str(c) for c in cmd]
    try:
        done = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"timed out after {timeout} s: {shlex.join(args)}") from error
    if check and done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip()[-1500:]
        raise HarnessError(f"exit {done.returncode}: {shlex.join(args)}\n{tail}")
    return done


def address(role: str, port: int = SERVICE_PORT) -> str:
    return f"{SUBNET}.{HOSTS[role]}:{port}"


def process_state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
        return text[text.rindex(")") + 2]
    except (OSError, ValueError, IndexError):
        return None


def children_of(pid: int) -> List[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                text = handle.read()
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """One line of a child's standard output, waited for at most `timeout` ('' at its end)."""
    assert proc.stdout is not None
    result: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: result.put(proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        return result.get(timeout=timeout)
    except queue.Empty:
        raise HarnessError(f"{shlex.join(map(str, proc.args))}: no line within {timeout} s") from None


def signal_and_wait_state(pid: int, sig: int, want: Callable[[Optional[str]], bool], timeout: float = 3.0) -> bool:
    os.kill(pid, sig)
    return wait_until(lambda: want(process_state(pid)), timeout)


def fnv1a64(text: str) -> int:
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def pg_bin() -> Path:
    if os.environ.get("CLAIMLINE_PG_BIN"):
        return Path(os.environ["CLAIMLINE_PG_BIN"])
    default = Path("/usr/lib/postgresql/15/bin")
    if (default / "psql").exists():
        return default
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1]
    return Path(shutil.which("psql") or "psql").parent


def build_kind(binary: Path) -> str:
    """debug or release, from the SwiftPM build folder the binary's debug info names."""
    text = str(binary)
    for kind in ("debug", "release"):
        if f"/.build/{kind}/" in text or re.search(rf"/\.build/[^/]+/{kind}/", text):
            return kind
    counts = {"debug": 0, "release": 0}
    pattern = re.compile(rb"/\.build/[A-Za-z0-9_.-]+/(debug|release)/")
    try:
        with open(binary, "rb") as handle:
            while True:
                chunk = handle.read(1 << 24)
                if not chunk:
                    break
                for match in pattern.finditer(chunk):
                    counts[match.group(1).decode()] += 1
    except OSError:
        return "unknown"
    if counts["debug"] == counts["release"] == 0:
        return "unknown"
    return "debug" if counts["debug"] >= counts["release"] else "release"


# ---------------------------------------------------------------------------------------------
# leftovers of earlier runs


def driver_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return False
    return b"tools/faults/faults.py" in cmdline or b"faults.py" in cmdline


def cleanup_leftovers(verbose: bool = True) -> int:
    """Removes namespaces, processes and temp dirs of runs whose driver is gone. Returns how
    many things were removed."""
    removed = 0
    listing = sh(["ip", "netns", "list"], check=False).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    ours = [n for n in names if re.fullmatch(rf"{PREFIX}-(\d+)-({'|'.join(ROLES)})", n)]
    # Processes first (they keep a namespace alive): thawed, then killed, by pid.
    for name in ours:
        pid = int(name.split("-")[1])
        if driver_alive(pid):
            if verbose:
                log(f"leaving {name}: its run (pid {pid}) is still going")
            continue
        pids = [int(p) for p in sh(["ip", "netns", "pids", name], check=False).stdout.split() if p.isdigit()]
        for p in pids:
            try:
                os.kill(p, signal.SIGCONT)
                os.kill(p, signal.SIGKILL)
                removed += 1
            except ProcessLookupError:
                pass
        if pids:
            wait_until(lambda: not any(process_state(p) not in (None, "Z") for p in pids), 10)
    for name in ours:
        pid = int(name.split("-")[1])
        if driver_alive(pid):
            continue
        sh(["ip", "netns", "del", name], check=False)
        removed += 1
        if verbose:
            log(f"removed namespace {name}")
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}-*-*"):
        match = re.fullmatch(rf"{PREFIX}-(\d+)-.*", path.name)
        if not match or not path.is_dir() or driver_alive(int(match.group(1))):
            continue
        for pg in sorted(path.glob("pg*")):  # pg (one database), pg-ha1 and pg-ha2 (the HA rows)
            if not (pg / "data" / "postmaster.pid").exists():
                continue
            try:
                postmaster = int((pg / "data" / "postmaster.pid").read_text().split()[0])
                if process_state(postmaster) is not None:
                    for p in [postmaster] + children_of(postmaster):
                        os.kill(p, signal.SIGCONT)
            except (OSError, ValueError, IndexError):
                pass
            sh([CLUSTER_SH, "destroy", pg], check=False, timeout=120)
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
        if verbose:
            log(f"removed {path}")
    return removed


# ---------------------------------------------------------------------------------------------
# one caller group (load.py in the clients' namespace)


class Load:
    def __init__(self, harness: "Harness", row: str, spec: Dict[str, Any]) -> None:
        self.harness = harness
        self.name = spec["group"]
        folder = harness.tmp / row
        folder.mkdir(parents=True, exist_ok=True)
        self.spec_path = folder / f"{self.name}.json"
        self.out_path = folder / f"{self.name}.records.jsonl"
        spec = dict(spec, out=str(self.out_path))
        self.spec = spec
        self.spec_path.write_text(json.dumps(spec))
        self.events: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.stderr = open(folder / f"{self.name}.stderr", "w")
        env = dict(os.environ, PYTHONPATH=str(harness.client_path), PYTHONUNBUFFERED="1")
        self.proc = harness.popen(
            ["ip", "netns", "exec", harness.ns("c"), harness.python, HERE / "load.py", self.spec_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
            bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.done: Optional[Dict[str, Any]] = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.events.put({"event": "garbage", "line": line})
        self.events.put({"event": "eof"})

    def send(self, command: str) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def expect(self, event: str, timeout: float) -> Dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise HarnessError(f"caller group {self.name}: no '{event}' within {timeout} s (see {self.stderr.name})")
            try:
                got = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if got.get("event") == event:
                return got
            if got.get("event") == "eof":
                self.events.put(got)
                raise HarnessError(f"caller group {self.name} exited before '{event}': {self._stderr_tail()}")
            if got.get("event") == "done":
                self.done = got

    def _stderr_tail(self) -> str:
        try:
            self.stderr.flush()
            return Path(self.stderr.name).read_text()[-1500:]
        except OSError:
            return ""

    def stop(self) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
        self.send("stop")
        longest = max(float(self.spec["deadline"]), float(self.spec.get("probe_deadline", 0)))
        done = self.done or self.expect("done", longest + 15.0)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.harness.kill(self.proc)
        records = []
        with open(self.out_path, encoding="utf-8") as handle:
            for line in handle:
                records.append(json.loads(line))
        for unfinished in done.get("unfinished", []):
            records.append(
                {
                    "group": unfinished.get("group", self.name),
                    "caller": unfinished.get("caller"),
                    "call_id": unfinished["call_id"],
                    "key": unfinished.get("key"),
                    "t0": unfinished["t0"],
                    "t1": None,
                    "ok": False,
                    "code": -2,
                    "reason": "NO_ANSWER",
                    "message": "still in flight when its caller was stopped (past its deadline)",
                }
            )
        return records, done

    def close(self) -> None:
        if self.proc.poll() is None:
            self.harness.kill(self.proc)
        try:
            self.stderr.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# the environment: namespaces, PostgreSQL, the instances


@dataclass
class PgNode:
    """One PostgreSQL cluster made by tools/pg/cluster.sh, run in namespace `role`."""

    label: str  # for the notes: "pg1", "pg2", "pg"
    role: str  # the namespace ("db", "db2")
    dir: Path
    port: int = 0

    @property
    def host(self) -> str:
        return f"{SUBNET}.{HOSTS[self.role]}"

    @property
    def name(self) -> str:
        """Its application_name and replication slot (cluster.sh writes DIR/name)."""
        try:
            return (self.dir / "name").read_text().strip()
        except OSError:
            return ""

    def pids(self) -> List[int]:
        try:
            postmaster = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        if process_state(postmaster) in (None, "Z"):
            return []
        return [postmaster] + children_of(postmaster)


class Harness:
    def __init__(self, claimlined: Path, keep: bool, client_path: Path) -> None:
        self.run = str(os.getpid())
        self.client_path = client_path
        self.claimlined = claimlined
        self.keep = keep
        self.python = os.environ.get("CLAIMLINE_FAULTS_PYTHON") or str(REPO / "clients" / "python" / ".venv" / "bin" / "python")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{self.run}-"))
        os.chmod(self.tmp, 0o755)
        self.namespaces: List[str] = []
        self.procs: List[subprocess.Popen] = []
        self.instances: Dict[str, subprocess.Popen] = {}
        self.instance_logs: Dict[str, Any] = {}
        self.frozen: List[int] = []
        self.pg_dir = self.tmp / "pg"
        self.pg_port: Optional[int] = None
        self.pg_made = False
        # The HA rows' pair (made on first use): [pg1 in db, pg2 in db2]; which one is primary.
        self.ha_nodes: List[PgNode] = []
        self.ha_primary = 0
        self.forwarders: Dict[str, subprocess.Popen] = {}
        # What psql() asks (the current row's primary) and the URL the instances get.
        self.sql_dir: Path = self.pg_dir
        self.sql_port: Optional[int] = None
        self.topology = "single"
        self.relay: Optional[subprocess.Popen] = None
        self.bin = pg_bin()
        self.instance_exits: List[str] = []

    def ns(self, role: str) -> str:
        return f"{PREFIX}-{self.run}-{role}"

    def popen(self, cmd: Sequence[Any], **kwargs: Any) -> subprocess.Popen:
        proc = subprocess.Popen([str(c) for c in cmd], start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen, grace: float = 0.0) -> None:
        if proc.poll() is not None:
            return
        try:
            os.kill(proc.pid, signal.SIGCONT)
            if grace > 0:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                    return
                except subprocess.TimeoutExpired:
                    pass
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"process {proc.pid} did not exit after SIGKILL")

    # -- network ------------------------------------------------------------------------------

    def make_network(self) -> None:
        for role in ROLES:
            sh(["ip", "netns", "add", self.ns(role)])
            self.namespaces.append(self.ns(role))
            sh(["ip", "-n", self.ns(role), "link", "set", "lo", "up"])
        hub = self.ns("hub")
        sh(["ip", "-n", hub, "link", "add", "br0", "type", "bridge"])
        sh(["ip", "-n", hub, "link", "set", "br0", "up"])
        for role, host in HOSTS.items():
            peer = f"v{role}"
            sh(["ip", "-n", hub, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", self.ns(role)])
            sh(["ip", "-n", hub, "link", "set", peer, "master", "br0"])
            sh(["ip", "-n", hub, "link", "set", peer, "up"])
            sh(["ip", "-n", self.ns(role), "addr", "add", f"{SUBNET}.{host}/24", "dev", "eth0"])
            sh(["ip", "-n", self.ns(role), "link", "set", "eth0", "up"])
        log(f"network: bridge br0 in {hub}; " + ", ".join(f"{self.ns(r)} {SUBNET}.{h}" for r, h in HOSTS.items()))

    def in_ns_python(self, role: str, code: str, args: Sequence[Any], timeout: float) -> subprocess.CompletedProcess:
        return sh(["ip", "netns", "exec", self.ns(role), sys.executable, "-c", code, *args], timeout=timeout, check=False)

    def check_paths(self, targets: Optional[List[str]] = None) -> None:
        """Every namespace reaches the others over the bridge (a TCP connect each way that matters)."""
        code = (
            "import socket,sys,time\n"
            "end=time.monotonic()+float(sys.argv[2])\n"
            "host,port=sys.argv[1].rsplit(':',1)\n"
            "while True:\n"
            "  try:\n"
            "    socket.create_connection((host,int(port)),timeout=1).close(); sys.exit(0)\n"
            "  except OSError as e:\n"
            "    if time.monotonic()>=end: print(e); sys.exit(1)\n"
            "    time.sleep(0.05)\n"
        )
        for target in targets or [f"{SUBNET}.{HOSTS['db']}:{self.pg_port}"]:
            for role in ("a", "b", "c"):
                done = self.in_ns_python(role, code, [target, 10], timeout=15)
                if done.returncode != 0:
                    raise HarnessError(f"{self.ns(role)} cannot reach PostgreSQL at {target}: {done.stdout.strip()}")

    # -- nftables in a namespace ----------------------------------------------------------------

    def nft(self, role: str, rules: str) -> None:
        self.nft_clear(role)
        sh(["ip", "netns", "exec", self.ns(role), "nft", "-f", "-"], input=rules)

    def nft_clear(self, role: str) -> None:
        sh(["ip", "netns", "exec", self.ns(role), "nft", "delete", "table", "inet", NFT_TABLE], check=False)

    # -- PostgreSQL -----------------------------------------------------------------------------

    def make_postgres(self) -> None:
        self.pg_made = True
        sh(["ip", "netns", "exec", self.ns("db"), CLUSTER_SH, "init", self.pg_dir], timeout=180)
        self.pg_port = int((self.pg_dir / "port").read_text().strip())
        with open(self.pg_dir / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# ---- tools/faults: the instances reach it over the harness's bridge ----\n"
                f"listen_addresses = '127.0.0.1,{SUBNET}.{HOSTS['db']}'\n"
            )
        with open(self.pg_dir / "data" / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host    all           all   {SUBNET}.0/24  trust\n")
        sh([CLUSTER_SH, "stop", self.pg_dir], timeout=130)
        self.pg_start()
        self.sql_dir, self.sql_port = self.pg_dir, self.pg_port
        log(f"PostgreSQL in {self.ns('db')} at {SUBNET}.{HOSTS['db']}:{self.pg_port} ({self.pg_dir})")

    def pg_start(self) -> None:
        sh(["ip", "netns", "exec", self.ns("db"), CLUSTER_SH, "start", self.pg_dir], timeout=130)

    def pg_stop(self) -> None:
        sh([CLUSTER_SH, "stop", self.pg_dir], timeout=130)

    def store_url(self) -> str:
        if self.topology == "ha":
            hosts = ",".join(f"{n.host}:{n.port}" for n in self.ha_nodes)
            return f"postgres://claimline@{hosts}/claimline?target_session_attrs=read-write"
        return f"postgres://claimline@{SUBNET}.{HOSTS['db']}:{self.pg_port}/claimline"

    def use_topology(self, topology: str) -> None:
        """The URL the instances get from now on, and the node psql() asks (the primary)."""
        self.topology = topology
        if topology == "ha":
            self.sql_dir, self.sql_port = self.ha_nodes[self.ha_primary].dir, self.ha_nodes[self.ha_primary].port
        else:
            self.sql_dir, self.sql_port = self.pg_dir, self.pg_port

    # -- the HA pair: a primary in db, its synchronous standby in db2 ----------------------------

    def cluster(self, role: str, *args: Any, timeout: float = 130.0) -> subprocess.CompletedProcess:
        """tools/pg/cluster.sh in namespace `role` (its 127.0.0.1 is that namespace's)."""
        return sh(["ip", "netns", "exec", self.ns(role), CLUSTER_SH, *args], timeout=timeout)

    def start_forwarder(self, role: str, node: PgNode) -> None:
        """127.0.0.1:node.port in namespace `role` forwarded to node's address (relay.py, no
        delay): what cluster.sh in `role` dials for its peer reaches the peer over the bridge."""
        key = f"{role}->{node.label}"
        old = self.forwarders.pop(key, None)
        if old is not None:
            self.kill(old)
        proc = self.popen(
            ["ip", "netns", "exec", self.ns(role), sys.executable, HERE / "relay.py", f"127.0.0.1:{node.port}", f"{node.host}:{node.port}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.tmp / f"forward-{role}.stderr", "a"), text=True, bufsize=1,
        )
        self.forwarders[key] = proc
        line = read_line(proc, 10)
        if not line.startswith("listening"):
            raise HarnessError(f"the forwarder 127.0.0.1:{node.port} in {self.ns(role)} did not start ({line!r}: a port taken there?)")

    def make_ha(self) -> None:
        started = time.monotonic()
        n1 = PgNode("pg1", "db", self.tmp / "pg-ha1")
        n2 = PgNode("pg2", "db2", self.tmp / "pg-ha2")
        self.ha_nodes = [n1, n2]  # from here on the teardown destroys them
        self.ha_primary = 0
        self.cluster("db", "init", n1.dir, "--primary", timeout=180)
        n1.port = int((n1.dir / "port").read_text().strip())
        # Each node binds 127.0.0.1 and whichever of the two addresses its namespace has (the
        # other one does not exist there: PostgreSQL warns and goes on). A base backup copies
        # these files to the standby; rejoin keeps each node's own.
        with open(n1.dir / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# ---- tools/faults: the HA pair, reached over the harness's bridge ----\n"
                f"listen_addresses = '127.0.0.1,{n1.host},{n2.host}'\n"
            )
        with open(n1.dir / "data" / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write(f"host    all           all   {SUBNET}.0/24  trust\n")
            hba.write(f"host    replication   all   {SUBNET}.0/24  trust\n")
        sh([CLUSTER_SH, "stop", n1.dir], timeout=130)
        self.cluster("db", "start", n1.dir)
        self.start_forwarder("db2", n1)
        self.cluster("db2", "standby", n1.dir, n2.dir, timeout=400)
        n2.port = int((n2.dir / "port").read_text().strip())
        self.start_forwarder("db", n2)
        self.check_paths([f"{n.host}:{n.port}" for n in self.ha_nodes])
        state = self.replication(n1, n2)
        if state != ("streaming", "sync"):
            raise HarnessError(f"the standby {n2.dir} is not the synchronous standby of {n1.dir}: {state}")
        log(f"HA pair in {time.monotonic() - started:.1f} s: primary {n1.host}:{n1.port} ({self.ns('db')}), "
            f"synchronous standby {n2.host}:{n2.port} ({self.ns('db2')})")

    def replication(self, primary: PgNode, standby: PgNode) -> Tuple[str, str]:
        """(state, sync_state) of standby's WAL sender on primary, ("", "") when there is none."""
        rows = self.psql(f"SELECT state, sync_state FROM pg_stat_replication WHERE application_name = '{standby.name}'",
                         timeout=10, node=primary)
        return (rows[0][0], rows[0][1]) if rows else ("", "")

    def ha_healthy(self) -> bool:
        if len(self.ha_nodes) != 2:
            return False
        primary, standby = self.ha_nodes[self.ha_primary], self.ha_nodes[1 - self.ha_primary]
        try:
            return (self.psql("SELECT pg_is_in_recovery()", timeout=10, node=primary) == [["f"]]
                    and self.replication(primary, standby) == ("streaming", "sync"))
        except HarnessError:
            return False

    def ensure_ha(self) -> None:
        if self.ha_nodes and self.ha_healthy():
            return
        if self.ha_nodes:
            log("the HA pair is not a primary with a streaming synchronous standby: making it again")
            self.discard_ha()
        self.make_ha()

    def discard_ha(self) -> None:
        for key in list(self.forwarders):
            self.kill(self.forwarders.pop(key))
        for node in self.ha_nodes:
            for pid in node.pids():
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            sh([CLUSTER_SH, "destroy", node.dir], check=False, timeout=150)
        self.ha_nodes = []
        self.ha_primary = 0

    def pg_pids(self) -> List[int]:
        try:
            postmaster = int((self.pg_dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        if process_state(postmaster) is None:
            return []
        return [postmaster] + children_of(postmaster)

    def pg_freeze(self) -> List[int]:
        pids = self.pg_pids()
        if not pids:
            raise HarnessError("PostgreSQL is not running: nothing to freeze")
        # The postmaster first: it forks no new backend once stopped.
        for pid in pids:
            try:
                os.kill(pid, signal.SIGSTOP)
                self.frozen.append(pid)
            except ProcessLookupError:
                pass
        late = [p for p in children_of(pids[0]) if p not in pids]
        for pid in late:
            os.kill(pid, signal.SIGSTOP)
            self.frozen.append(pid)
        frozen = pids + late
        if not wait_until(lambda: all(process_state(p) in ("T", None) for p in frozen), 3):
            raise HarnessError("PostgreSQL's processes did not all stop")
        return frozen

    def thaw_all(self) -> None:
        for pid in reversed(self.frozen):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen.clear()

    def psql(self, sql: str, timeout: float = 30.0, node: Optional[PgNode] = None) -> List[List[str]]:
        """On the node's Unix socket (no network: the harness runs outside the namespaces); by
        default the current row's primary."""
        env = dict(os.environ, PGCONNECT_TIMEOUT="5")
        folder, port = (node.dir, node.port) if node is not None else (self.sql_dir, self.sql_port)
        done = sh(
            [self.bin / "psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", folder, "-p",
             port, "-U", "claimline", "-d", "claimline", "-c", sql],
            timeout=timeout,
            env=env,
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def advisory_locks(self, role: str) -> set:
        """The advisory locks (int8 keys) granted to the backends of one instance (its address
        is its own: pg_stat_activity.client_addr)."""
        rows = self.psql(
            "SELECT l.classid::bigint, l.objid::bigint FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid "
            f"WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND s.client_addr = '{SUBNET}.{HOSTS[role]}'",
            timeout=10,
        )
        return {((int(c) << 32) | int(o)) & 0xFFFFFFFFFFFFFFFF for c, o in rows}

    def pg_wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            try:
                self.psql("SELECT 1", timeout=5)
                return True
            except HarnessError:
                return False

        if not wait_until(ready, timeout, step=0.2):
            raise HarnessError(f"PostgreSQL does not answer within {timeout} s")

    # -- claimlined -----------------------------------------------------------------------------

    def start_instance(self, role: str, timeout: float = 60.0) -> subprocess.Popen:
        logfile = open(self.tmp / f"claimlined-{role}.log", "a")
        self.instance_logs[role] = logfile
        host = f"{SUBNET}.{HOSTS[role]}"
        data = self.tmp / f"data-{role}"
        data.mkdir(exist_ok=True)
        cmd = [
            "ip", "netns", "exec", self.ns(role), self.claimlined,
            "--listen", f"{host}:{SERVICE_PORT}",
            "--admin-listen", f"{host}:{ADMIN_PORT}",
            "--store", self.store_url(),
            "--config", REPO / "config" / "claimline.json",
            "--data-dir", data,
            "--log-level", "notice",
        ]
        logfile.write(f"\n==== {datetime.datetime.now(datetime.timezone.utc).isoformat()} start {shlex.join(map(str, cmd))}\n")
        logfile.flush()
        proc = self.popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.instances[role] = proc
        self.wait_ready(role, timeout)
        return proc

    def wait_ready(self, role: str, timeout: float) -> None:
        code = (
            "import sys,time,urllib.request\n"
            "url=sys.argv[1]; end=time.monotonic()+float(sys.argv[2]); last=''\n"
            "while True:\n"
            "  try:\n"
            "    with urllib.request.urlopen(url,timeout=1) as r:\n"
            "      if r.status==200: sys.exit(0)\n"
            "  except Exception as e: last=str(e)\n"
            "  if time.monotonic()>=end: print(last); sys.exit(1)\n"
            "  time.sleep(0.05)\n"
        )
        url = f"http://{SUBNET}.{HOSTS[role]}:{ADMIN_PORT}/readyz"
        end = time.monotonic() + timeout
        last = ""
        while time.monotonic() < end:
            proc = self.instances[role]
            if proc.poll() is not None:
                raise HarnessError(f"claimlined {role.upper()} exited with {proc.returncode} while starting: {self.log_tail(role)}")
            done = self.in_ns_python("c", code, [url, 2], timeout=10)
            if done.returncode == 0:
                return
            last = done.stdout.strip()
        raise HarnessError(f"claimlined {role.upper()} not ready within {timeout} s ({last}): {self.log_tail(role)}")

    def log_tail(self, role: str) -> str:
        try:
            return (self.tmp / f"claimlined-{role}.log").read_text()[-2000:]
        except OSError:
            return ""

    def stop_instance(self, role: str) -> None:
        proc = self.instances.pop(role, None)
        if proc is None:
            return
        if proc.poll() is not None:
            self.instance_exits.append(f"{role.upper()} had exited with {proc.returncode}")
            return
        self.kill(proc, grace=15.0)

    def restart_instances(self) -> None:
        for role in ("a", "b"):
            self.stop_instance(role)
        for role in ("a", "b"):
            self.start_instance(role)

    def instance_pid(self, role: str) -> int:
        proc = self.instances[role]
        exe = os.readlink(f"/proc/{proc.pid}/exe")
        if Path(exe).name != self.claimlined.name:
            raise HarnessError(f"pid {proc.pid} is {exe}, not claimlined")
        return proc.pid

    # -- the relay ------------------------------------------------------------------------------

    def start_relay(self) -> None:
        host = f"{SUBNET}.{HOSTS['a']}"
        self.relay = self.popen(
            ["ip", "netns", "exec", self.ns("a"), sys.executable, HERE / "relay.py", f"{host}:{RELAY_PORT}", f"{host}:{SERVICE_PORT}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.tmp / "relay.stderr", "a"), text=True, bufsize=1,
        )
        self._relay_line("listening", 10)

    def _relay_line(self, want: str, timeout: float) -> str:
        assert self.relay is not None
        line = read_line(self.relay, timeout)
        if not line.startswith(want):
            raise HarnessError(f"the relay said {line!r}, wanted '{want}'")
        return line

    def relay_delay(self, ms: int) -> None:
        assert self.relay is not None and self.relay.stdin is not None
        self.relay.stdin.write(f"delay {ms}\n")
        self.relay.stdin.flush()
        self._relay_line("ok delay", 5)

    def stop_relay(self) -> None:
        if self.relay is not None:
            try:
                assert self.relay.stdin is not None
                self.relay.stdin.write("quit\n")
                self.relay.stdin.flush()
                self.relay.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.kill(self.relay)
            self.relay = None

    # -- teardown -------------------------------------------------------------------------------

    def teardown(self) -> None:
        log("teardown")
        self.thaw_all()
        for proc in list(self.instances.values()):
            try:
                os.kill(proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        for proc in reversed(self.procs):
            self.kill(proc, grace=0.0 if proc not in self.instances.values() else 5.0)
        for handle in self.instance_logs.values():
            try:
                handle.close()
            except OSError:
                pass
        if self.pg_made:
            for pid in self.pg_pids():
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            sh([CLUSTER_SH, "destroy", self.pg_dir], check=False, timeout=150)
        if self.ha_nodes:
            self.discard_ha()
        for name in reversed(self.namespaces):
            # Anything still in it was started here: end it by its pid.
            for p in sh(["ip", "netns", "pids", name], check=False).stdout.split():
                try:
                    os.kill(int(p), signal.SIGCONT)
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh(["ip", "netns", "del", name], check=False)
        self.namespaces.clear()
        if self.keep:
            log(f"kept {self.tmp} (--keep)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# rows


@dataclass
class GroupSpec:
    name: str
    roles: List[str]  # "a", "b", "ra" (the relay in front of A)
    callers: int
    deadline: float
    pace: float
    probe_roles: Optional[List[str]] = None
    probe_deadline: float = 10.0


@dataclass
class Row:
    id: str
    title: str
    fault: str
    duration: float
    groups: List[GroupSpec]
    target_group: str
    observer_group: str
    targets: Dict[str, float]
    target_text: str
    target_source: str  # "issue" or "harness"; "" when target_text marks each part itself
    quick: bool = False
    params: Dict[str, Any] = field(default_factory=dict)
    topology: str = "single"  # "ha": the primary and its standby (Harness.make_ha)


FAILOVER = GroupSpec("ab", ["a", "b"], callers=8, deadline=5.0, pace=0.1)
ON_B = GroupSpec("b", ["b"], callers=2, deadline=5.0, pace=0.05)
# The HA rows: the 10 s callers failing over between A and B (the target), 10 s callers pinned
# to A and to B (each instance's first write after the promotion: its RTO), and the load.
FAILOVER_HA_GROUPS = [
    GroupSpec("ab10", ["a", "b"], callers=4, deadline=10.0, pace=0.1),
    GroupSpec("a10", ["a"], callers=2, deadline=10.0, pace=0.05),
    GroupSpec("b10", ["b"], callers=2, deadline=10.0, pace=0.05),
    GroupSpec("load", ["a", "b"], callers=4, deadline=5.0, pace=0.02),
]

ROWS: List[Row] = [
    Row("freeze-a", "A frozen (SIGSTOP, sockets open) 15 s", "freeze_a", 15.0,
        [FAILOVER, ON_B], "ab", "b",
        {"success_pct": 99.0, "first_ok_s": 2.0},
        ">= 99 % of the A,B callers' calls (5 s deadline) during the fault succeed; each caller's first success within 2 s",
        "issue", quick=True),
    Row("blackhole-a", "A blackholed (nftables drop in A's namespace, no RST) 15 s", "blackhole_a", 15.0,
        [FAILOVER, ON_B], "ab", "b",
        {"success_pct": 99.0, "first_ok_s": 2.0},
        ">= 99 % of the A,B callers' calls (5 s deadline) during the fault succeed; each caller's first success within 2 s",
        "issue", quick=True),
    Row("freeze-a-locks", "A frozen 15 s mid-batch holding its advisory locks; one write for a locked contact sent to B",
        "freeze_a_locks", 15.0,
        [GroupSpec("a", ["a"], callers=6, deadline=5.0, pace=0.0),
         GroupSpec("b", ["b"], callers=4, deadline=5.0, pace=0.05, probe_roles=["b"], probe_deadline=10.0)],
        "b", "b",
        {"no_errors": 1.0, "p99_ratio": 2.0},
        "B's callers on other contacts: no error, p99 during the fault within 2x of before",
        "issue", quick=True),
    Row("pg-restart", "PostgreSQL stopped (fast shutdown) ~3.5 s, then started", "pg_restart", 3.5,
        [GroupSpec("ab10", ["a", "b"], callers=4, deadline=10.0, pace=0.1),
         GroupSpec("load", ["a", "b"], callers=4, deadline=5.0, pace=0.02)],
        "ab10", "load",
        {"no_errors": 1.0},
        "0 errors reaching the 4 callers with a 10 s deadline (besides the load)",
        "issue", quick=True),
    Row("pg-freeze", "PostgreSQL frozen (SIGSTOP of the postmaster and backends) 6 s", "pg_freeze", 6.0,
        [GroupSpec("ab10", ["a", "b"], callers=4, deadline=10.0, pace=0.1),
         GroupSpec("load", ["a", "b"], callers=4, deadline=5.0, pace=0.02)],
        "ab10", "load",
        {"no_errors": 1.0},
        "0 errors reaching the callers with a 10 s deadline (as for the restart)",
        "harness"),
    Row("kill-a", "A killed (kill -9) under load; restarted 10 s later", "kill_a", 10.0,
        [FAILOVER, GroupSpec("load", ["a", "b"], callers=4, deadline=5.0, pace=0.02), ON_B], "ab", "b",
        {"success_pct": 99.0, "first_ok_s": 2.0},
        ">= 99 % of the A,B callers' calls during the fault succeed; each caller's first success within 2 s (as for the freeze)",
        "harness", quick=True),
    Row("loss-a", "5 % packet loss on A (nftables numgen, both directions) 15 s", "loss_a", 15.0,
        [FAILOVER, ON_B], "ab", "b",
        {"success_pct": 99.0},
        ">= 99 % of the A,B callers' calls (5 s deadline) during the fault succeed",
        "harness", params={"loss_pct": 5}),
    Row("delay-a", "150 ms added each way between the callers and A (delaying relay) 15 s", "delay_a", 15.0,
        [GroupSpec("ab", ["ra", "b"], callers=8, deadline=5.0, pace=0.1), ON_B], "ab", "b",
        {"success_pct": 99.0},
        ">= 99 % of the A,B callers' calls (5 s deadline) during the fault succeed",
        "harness", params={"delay_ms": 150}),
    # The database machine lost: a failure detector's 1 s (an operator watching, or Patroni with
    # a short loop; Patroni's defaults, loop_wait 10 s and ttl 30 s, take longer), then the
    # standby promoted. The row's "duration" is that detection time: kill to promotion.
    Row("pg-failover", "PostgreSQL primary lost (kill -9 of the postmaster and every backend) under load; "
        "its synchronous standby promoted 1 s later; the old primary rejoined as a standby", "pg_failover", 1.0,
        FAILOVER_HA_GROUPS, "ab10", "load",
        {"no_errors_10s": 1.0, "rto_s": 5.0, "numbers_once": 1.0, "no_restart": 1.0, "rejoined": 1.0},
        "0 acknowledged claims lost (RPO 0: every acknowledged commit was on the standby), 0 duplicated, no claim "
        "number twice, writes flowing again on A and on B within 5 s of the promotion with no claimlined restart, "
        "0 errors reaching the callers with a 10 s deadline (issue); the old primary streams again as the "
        "synchronous standby (harness)",
        "", quick=True, topology="ha", params={"sync": True}),
    Row("pg-failover-async", "The same with the standby asynchronous (synchronous_standby_names = ''): "
        "primary lost, standby promoted 1 s later, old primary rejoined", "pg_failover", 1.0,
        FAILOVER_HA_GROUPS, "ab10", "load",
        {"no_restart": 1.0, "rejoined": 1.0, "rpo_informational": 1.0},
        "informational: RPO (acknowledged claims lost: committed on the primary, not yet streamed) and RTO "
        "measured; asserted only what asynchronous replication does not excuse: 0 duplicated, 0 told 'not "
        "applied' that were applied, no claimlined restart, the old primary streams again",
        "harness", topology="ha", params={"sync": False}),
]

CORRECTNESS = "0 acknowledged claims lost, 0 duplicated, 0 told 'not applied' that were applied"
CORRECTNESS_ASYNC = "0 duplicated, 0 told 'not applied' that were applied (lost: measured, the RPO)"


def target_label(row: Row) -> str:
    return f"{row.target_text} ({row.target_source})" if row.target_source else row.target_text


def role_address(role: str) -> str:
    if role == "ra":
        return address("a", RELAY_PORT)
    return address(role)


# ---------------------------------------------------------------------------------------------
# faults


class Fault:
    """start() applies the fault and returns the time it took effect; end() removes it and
    returns the time it was gone (for kill: the instance ready again)."""

    def __init__(self, harness: Harness, row: Row, loads: Dict[str, Load]) -> None:
        self.h = harness
        self.row = row
        self.loads = loads
        self.notes: List[str] = []

    def prepare(self) -> None:
        """Before the callers start."""

    def start(self) -> float:
        raise NotImplementedError

    def end(self) -> float:
        raise NotImplementedError

    def after_window(self) -> None:
        """After the window that follows the fault's end, the callers still calling."""


class FreezeA(Fault):
    def start(self) -> float:
        pid = self.h.instance_pid("a")
        if not signal_and_wait_state(pid, signal.SIGSTOP, lambda s: s == "T"):
            raise HarnessError("A did not stop")
        self.h.frozen.append(pid)
        return time.monotonic()

    def end(self) -> float:
        pid = self.h.instance_pid("a")
        if not signal_and_wait_state(pid, signal.SIGCONT, lambda s: s != "T"):
            raise HarnessError("A did not continue")
        if pid in self.h.frozen:
            self.h.frozen.remove(pid)
        return time.monotonic()


class BlackholeA(Fault):
    RULES = f"""table inet {NFT_TABLE} {{
  chain in {{
    type filter hook input priority -10; policy accept;
    iifname "eth0" drop
  }}
  chain out {{
    type filter hook output priority -10; policy accept;
    oifname "eth0" drop
  }}
}}
"""

    def start(self) -> float:
        self.h.nft("a", self.RULES)
        return time.monotonic()

    def end(self) -> float:
        self.h.nft_clear("a")
        return time.monotonic()


class LossA(Fault):
    def start(self) -> float:
        pct = int(self.row.params.get("loss_pct", 5))
        rules = f"""table inet {NFT_TABLE} {{
  chain in {{
    type filter hook input priority -10; policy accept;
    iifname "eth0" numgen random mod 100 < {pct} drop
  }}
  chain out {{
    type filter hook output priority -10; policy accept;
    oifname "eth0" numgen random mod 100 < {pct} drop
  }}
}}
"""
        self.h.nft("a", rules)
        return time.monotonic()

    def end(self) -> float:
        self.h.nft_clear("a")
        return time.monotonic()


class DelayA(Fault):
    def start(self) -> float:
        self.h.relay_delay(int(self.row.params.get("delay_ms", 150)))
        return time.monotonic()

    def end(self) -> float:
        self.h.relay_delay(0)
        return time.monotonic()


class KillA(Fault):
    def start(self) -> float:
        proc = self.h.instances["a"]
        os.kill(self.h.instance_pid("a"), signal.SIGKILL)
        at = time.monotonic()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise HarnessError("A did not die after SIGKILL") from None
        self.h.instances.pop("a", None)
        return at

    def end(self) -> float:
        began = time.monotonic()
        self.h.start_instance("a")
        ready = time.monotonic()
        self.notes.append(f"A restarted and ready {ready - began:.1f} s after its start command")
        return ready


class PgRestart(Fault):
    def start(self) -> float:
        pids = self.h.pg_pids()
        if not pids:
            raise HarnessError("PostgreSQL is not running: nothing to stop")
        postmaster = pids[0]
        os.kill(postmaster, signal.SIGINT)  # fast shutdown, as pg_ctl -m fast sends it
        at = time.monotonic()
        if not wait_until(lambda: process_state(postmaster) in (None, "Z"), 60):
            raise HarnessError("PostgreSQL did not shut down within 60 s")
        self.stopped = time.monotonic()
        self.notes.append(f"fast shutdown (SIGINT to the postmaster) took {self.stopped - at:.1f} s")
        return at

    def end(self) -> float:
        began = time.monotonic()
        self.h.pg_start()
        ready = time.monotonic()
        self.notes.append(f"PostgreSQL down {ready - self.stopped:.1f} s (stopped to accepting), start took {ready - began:.1f} s")
        return ready


class PgFreeze(Fault):
    def start(self) -> float:
        pids = self.h.pg_freeze()
        self.notes.append(f"{len(pids)} PostgreSQL processes stopped")
        return time.monotonic()

    def end(self) -> float:
        self.h.thaw_all()
        return time.monotonic()


class FreezeALocks(Fault):
    """Freezes A when PostgreSQL shows it holding advisory locks of calls in flight on A, then
    sends one write for one of those contacts (another logical write: a fresh key) to B."""

    def locked_keys(self) -> set:
        return self.h.advisory_locks("a")

    def start(self) -> float:
        pid = self.h.instance_pid("a")
        load_a = self.loads["a"]
        chosen: Optional[str] = None
        at = 0.0
        attempts = 0
        locks: set = set()
        inflight: List[str] = []
        for attempts in range(1, 41):
            if not signal_and_wait_state(pid, signal.SIGSTOP, lambda s: s == "T"):
                raise HarnessError("A did not stop")
            self.h.frozen.append(pid)
            at = time.monotonic()
            load_a.send("inflight")
            inflight = [c for c, _ in load_a.expect("inflight", 5)["calls"]]
            # Locks still held a moment later belong to a batch A will not finish while frozen.
            first = self.locked_keys()
            time.sleep(0.3)
            locks = first & self.locked_keys()
            hits = [c for c in inflight if fnv1a64("c\x1f" + c) in locks]
            if hits:
                chosen = hits[0]
                self.notes.append(
                    f"A caught holding {len(locks)} advisory locks (attempt {attempts}); {len(hits)} of its {len(inflight)} "
                    f"calls in flight locked; probe to B for {chosen}"
                )
                break
            os.kill(pid, signal.SIGCONT)
            self.h.frozen.remove(pid)
            wait_until(lambda: process_state(pid) != "T", 2)
            # Freeze again once A has a batch's locks (polled; at most 2 s).
            wait_until(lambda: bool(self.locked_keys()), 2, step=0.01)
        if chosen is None:
            # Frozen anyway (the last attempt): measured, and said so.
            if not signal_and_wait_state(pid, signal.SIGSTOP, lambda s: s == "T"):
                raise HarnessError("A did not stop")
            self.h.frozen.append(pid)
            at = time.monotonic()
            load_a.send("inflight")
            inflight = [c for c, _ in load_a.expect("inflight", 5)["calls"]]
            chosen = inflight[0] if inflight else None
            self.notes.append(
                f"A NOT caught holding a lock of a call in flight in {attempts} attempts "
                f"({len(locks)} advisory locks held at the last); probe for {chosen or 'nothing'} (unverified)"
            )
        self.probe_call = chosen
        if chosen:
            self.loads["b"].send(f"probe {chosen}")
        return at

    def end(self) -> float:
        pid = self.h.instance_pid("a")
        if not signal_and_wait_state(pid, signal.SIGCONT, lambda s: s != "T"):
            raise HarnessError("A did not continue")
        if pid in self.h.frozen:
            self.h.frozen.remove(pid)
        return time.monotonic()


class PgFailover(Fault):
    """The primary's machine lost: SIGKILL of its postmaster and every backend at once (not
    cluster.sh kill, an immediate shutdown the postmaster itself carries out); after the row's
    detection time the standby is promoted (cluster.sh promote: pg_ctl promote); after the
    window, the old primary rejoins as a standby of the new one (cluster.sh rejoin: pg_rewind).
    Asynchronous (params sync False): synchronous_standby_names = '' on the primary first."""

    def __init__(self, harness: Harness, row: Row, loads: Dict[str, Load]) -> None:
        super().__init__(harness, row, loads)
        self.old = harness.ha_nodes[harness.ha_primary]
        self.new = harness.ha_nodes[1 - harness.ha_primary]
        self.info: Dict[str, Any] = {"old": f"{self.old.label} {self.old.host}:{self.old.port}",
                                     "new": f"{self.new.label} {self.new.host}:{self.new.port}",
                                     "sync": bool(row.params.get("sync", True)), "rejoin_ok": False}

    def prepare(self) -> None:
        if not self.info["sync"]:
            self.h.cluster(self.old.role, "async", self.old.dir, timeout=60)
            names = self.h.psql("SHOW synchronous_standby_names", timeout=10, node=self.old)
            # psql prints an empty value as an empty line, which psql() drops: no row is ''.
            self.notes.append(f"synchronous_standby_names = '{names[0][0] if names else ''}' on the primary (cluster.sh async)")

    def sample_replication(self) -> None:
        """The standby's lag as the primary sees it, ten times 0.1 s apart, just before the kill."""
        lags: List[float] = []
        behind: List[int] = []
        state = ("", "")
        for _ in range(10):
            rows = self.h.psql(
                "SELECT state, sync_state, COALESCE(EXTRACT(epoch FROM flush_lag) * 1000, 0), "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) FROM pg_stat_replication "
                f"WHERE application_name = '{self.new.name}'", timeout=10, node=self.old)
            if rows:
                state = (rows[0][0], rows[0][1])
                lags.append(float(rows[0][2]))
                behind.append(int(float(rows[0][3])))
            time.sleep(0.1)
        self.info.update(before_state=state, flush_lag_ms=lags, bytes_behind=behind)

    def start(self) -> float:
        self.sample_replication()
        postmaster = self.old.pids()[:1]
        if not postmaster:
            raise HarnessError(f"the primary {self.old.dir} is not running: nothing to kill")
        # Stopped first, so that it forks nothing while its children are listed; then all killed.
        if not signal_and_wait_state(postmaster[0], signal.SIGSTOP, lambda s: s == "T"):
            raise HarnessError("the postmaster did not stop")
        pids = postmaster + children_of(postmaster[0])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        at = time.monotonic()
        if not wait_until(lambda: all(process_state(p) in (None, "Z") for p in pids), 10):
            raise HarnessError("PostgreSQL's processes did not all die after SIGKILL")
        self.info["t_kill"] = at
        self.notes.append(f"kill -9 of {len(pids)} processes of the primary {self.info['old']}")
        return at

    def end(self) -> float:
        """The promotion: returns when it was issued (what RTO is measured from)."""
        if "t_promote" in self.info:
            return self.info["t_promote"]
        if "t_kill" not in self.info:
            return time.monotonic()  # never killed (start failed first): nothing to promote
        writable: Dict[str, float] = {}
        stop = threading.Event()

        def watch() -> None:
            # When the standby first says it is out of recovery (psql on its socket, every 20 ms).
            while not stop.is_set():
                try:
                    if self.h.psql("SELECT pg_is_in_recovery()", timeout=5, node=self.new) == [["f"]]:
                        writable["t"] = time.monotonic()
                        return
                except HarnessError:
                    pass
                stop.wait(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        at = time.monotonic()
        self.info["t_promote"] = at
        watcher.start()
        try:
            self.h.cluster(self.new.role, "promote", self.new.dir, timeout=120)
        finally:
            done = time.monotonic()
            watcher.join(timeout=10)
            stop.set()
        self.info["promote_s"] = done - at
        if "t" in writable:
            self.info["writable_s"] = writable["t"] - at
        # From here on the new primary is the one the harness asks.
        self.h.ha_primary = self.h.ha_nodes.index(self.new)
        self.h.use_topology("ha")
        return at

    def after_window(self) -> None:
        began = time.monotonic()
        try:
            done = self.h.cluster(self.old.role, "rejoin", self.old.dir, self.new.dir, timeout=400)
            how = re.search(r"by (pg_rewind|pg_basebackup)", done.stderr or "")
            self.info["rejoin_how"] = how.group(1) if how else "?"
        except HarnessError as error:
            self.info["rejoin_error"] = str(error)[-600:]
        self.info["rejoin_s"] = time.monotonic() - began
        try:
            state = self.h.replication(self.new, self.old)
            role = self.h.psql("SELECT pg_is_in_recovery()", timeout=10, node=self.old)
        except HarnessError as error:
            state, role = ("", str(error)[-200:]), []
        self.info["rejoin_state"] = state
        self.info["rejoin_ok"] = state == ("streaming", "sync") and role == [["t"]]

    def notes_after(self) -> str:
        if "rejoin_error" in self.info:
            return f"cluster.sh rejoin failed after {self.info['rejoin_s']:.1f} s: {self.info['rejoin_error'][-300:]}"
        state = self.info.get("rejoin_state", ("", ""))
        return (f"{self.info['old']} rejoined by {self.info.get('rejoin_how', '?')} in {self.info['rejoin_s']:.1f} s; "
                f"the new primary shows it {' '.join(state) or 'absent'}")

    def standby_has_every_claim(self, prefix: str) -> None:
        """After the callers stopped: the rejoined standby has replayed up to the primary's WAL
        position then, and holds as many of the row's claims (waited for at most 15 s)."""
        if not self.info.get("rejoin_ok"):
            return
        try:
            lsn = self.h.psql("SELECT pg_current_wal_lsn()", timeout=10, node=self.new)[0][0]
            caught_up = wait_until(
                lambda: self.h.psql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", timeout=10, node=self.old) == [["t"]],
                15, step=0.1)
            count = f"SELECT count(*) FROM claims WHERE call_id LIKE '{prefix}%'"
            on_primary = int(self.h.psql(count, node=self.new)[0][0])
            on_standby = int(self.h.psql(count, node=self.old)[0][0])
        except HarnessError as error:
            self.info["standby_claims"] = f"could not compare: {str(error)[-200:]}"
            self.info["rejoin_ok"] = False
            return
        self.info["standby_claims"] = (on_standby, on_primary)
        if not caught_up or on_standby != on_primary:
            self.info["rejoin_ok"] = False


FAULTS = {
    "pg_failover": PgFailover,
    "freeze_a": FreezeA,
    "blackhole_a": BlackholeA,
    "freeze_a_locks": FreezeALocks,
    "pg_restart": PgRestart,
    "pg_freeze": PgFreeze,
    "kill_a": KillA,
    "loss_a": LossA,
    "delay_a": DelayA,
}


# ---------------------------------------------------------------------------------------------
# what a final error says


def says_not_applied(record: Dict[str, Any]) -> bool:
    """PROTOCOL.md 9.5 and 8.1: a final error tells the caller the write was not applied unless
    it is OUTCOME_UNKNOWN, the client's own deadline, a lost connection, or says it may have
    been applied."""
    reason = record.get("reason") or ""
    message = (record.get("message") or "").lower()
    code = record.get("code")
    if reason in ("OUTCOME_UNKNOWN", "NO_ANSWER", "CONNECTION_LOST", "CONNECTION_CLOSED"):
        return False
    if "may have been applied" in message or "same idempotency key" in message:
        return False
    if code == 4 and reason != "DEADLINE":  # the client's own deadline (CLIENT_DEADLINE or none)
        return False
    if code == -1:  # an exception that is not a ClaimlineError: says nothing
        return False
    return True


CODE_NAMES = {
    -2: "NO_ANSWER", -1: "EXCEPTION", 0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


def error_label(record: Dict[str, Any]) -> str:
    code = record.get("code")
    name = CODE_NAMES.get(code, str(code)) if isinstance(code, int) else str(code)
    reason = record.get("reason") or "-"
    return f"{name}/{reason}" if reason != name else name


# ---------------------------------------------------------------------------------------------
# running a row and measuring it


def call_prefix(harness: Harness, row: Row) -> str:
    """The row's call ids start with this (row ids hold only [a-z-]: no row's prefix is
    another's)."""
    return f"{PREFIX}{harness.run}.{row.id}"


def group_spec(harness: Harness, row: Row, group: GroupSpec, max_seconds: float) -> Dict[str, Any]:
    # Calls per caller: what the pace allows in the row's time, and a ceiling for closed loops.
    per_caller = int(max_seconds / group.pace) + 10 if group.pace > 0 else 20000
    spec: Dict[str, Any] = {
        "prefix": call_prefix(harness, row),
        "group": group.name,
        "addresses": [role_address(r) for r in group.roles],
        "callers": group.callers,
        "deadline": group.deadline,
        "pace": group.pace,
        "max_calls": per_caller,
        "max_seconds": max_seconds,
        "token": "dev-agent-token",
        "connect_seconds": 20,
    }
    if group.probe_roles:
        spec["probe_addresses"] = [role_address(r) for r in group.probe_roles]
        spec["probe_deadline"] = group.probe_deadline
    return spec


def run_row(harness: Harness, row: Row, baseline: float, after: float) -> Dict[str, Any]:
    log(f"row {row.id}: {row.title}")
    harness.instance_exits = []
    ha = row.topology == "ha"
    if ha:
        harness.ensure_ha()
    harness.use_topology(row.topology)
    harness.restart_instances()
    started_pids = {role: proc.pid for role, proc in harness.instances.items()}
    if row.fault == "delay_a":
        harness.start_relay()
    max_seconds = baseline + row.duration + after + (120.0 if ha else 60.0)
    loads: Dict[str, Load] = {}
    fault: Optional[Fault] = None
    attempted = False
    timeline: Dict[str, float] = {}
    records: List[Dict[str, Any]] = []
    dones: Dict[str, Dict[str, Any]] = {}
    try:
        fault = FAULTS[row.fault](harness, row, loads)
        fault.prepare()
        for group in row.groups:
            loads[group.name] = Load(harness, row.id, group_spec(harness, row, group, max_seconds))
        for load in loads.values():
            ready = load.expect("ready", 40)
            if ready["connected"] < ready["callers"]:
                raise HarnessError(f"group {load.name}: {ready['connected']} of {ready['callers']} callers connected")
        for load in loads.values():
            load.send("go")
        for load in loads.values():
            timeline.setdefault("go", load.expect("going", 10)["t"])
        hold(harness, baseline)
        attempted = True
        timeline["fault_start"] = fault.start()
        if row.fault in ("freeze_a", "blackhole_a", "kill_a", "loss_a", "delay_a"):
            # Whether A was in a batch (holding its contacts' locks) when the fault began.
            fault.notes.append(f"A's backends held {len(harness.advisory_locks('a'))} advisory locks just after the fault began")
        log(f"row {row.id}: fault on ({'; '.join(fault.notes) or row.fault})")
        hold(harness, max(0.0, timeline["fault_start"] + row.duration - time.monotonic()), allow_down=True)
        timeline["fault_end"] = fault.end()
        log(f"row {row.id}: fault off")
        # The HA rows watch A and B (a restart is a miss, measured), rather than stop at an exit.
        hold(harness, after, allow_down=ha)
        fault.after_window()
        if ha:
            log(f"row {row.id}: the old primary rejoined: {fault.notes_after() if isinstance(fault, PgFailover) else ''}")
            hold(harness, 2.0, allow_down=True)  # writes with the rejoined synchronous standby
        timeline["stop"] = time.monotonic()
        for name, load in loads.items():
            got, done = load.stop()
            records.extend(got)
            dones[name] = done
    finally:
        if fault is not None and attempted and "fault_end" not in timeline:
            try:
                fault.end()
            except Exception as error:  # the teardown thaws and removes the rest
                log(f"ending the fault after a failure: {error}")
        for load in loads.values():
            load.close()
        harness.thaw_all()
        harness.nft_clear("a")
        harness.stop_relay()
    if row.fault in ("pg_restart", "pg_freeze"):
        harness.pg_wait_ready()
    for role in ("a", "b"):
        proc = harness.instances.get(role)
        if proc is not None and proc.poll() is not None:
            harness.instance_exits.append(f"{role.upper()} exited with {proc.returncode} during the row")
    restarted = [role.upper() for role, pid in started_pids.items()
                 if harness.instances.get(role) is None or harness.instances[role].pid != pid
                 or harness.instances[role].poll() is not None]
    if isinstance(fault, PgFailover):
        fault.standby_has_every_claim(call_prefix(harness, row) + ".")
    result = measure(harness, row, records, timeline, baseline, fault=fault, restarted=restarted)
    result["notes"] = (fault.notes if fault else []) + harness.instance_exits
    for name, done in dones.items():
        if done.get("stuck_callers"):
            result["notes"].append(f"group {name}: {done['stuck_callers']} callers still in a call when stopped")
        if done.get("connect_failures"):
            result["notes"].append(f"group {name}: {done['connect_failures']} failed connects (client connect())")
    return result


def unmeasured(row: Row, error: str) -> Dict[str, Any]:
    return {"row": row.id, "title": row.title, "error": error, "checks": [("the row measured", False, f"harness error: {error[:300]}")]}


def recover(harness: Harness, row: Optional[Row] = None) -> None:
    """After a row that failed: everything thawed, PostgreSQL running (the next row restarts
    the instances); after an HA row, the pair discarded (the next HA row makes it again)."""
    if row is not None and row.topology == "ha" and harness.ha_nodes:
        log("discarding the HA pair (the row failed in an unknown state)")
        harness.discard_ha()
    harness.use_topology("single")
    harness.thaw_all()
    harness.stop_relay()
    for role in ("a", "b"):
        harness.nft_clear(role)
    if not harness.pg_made:
        return
    if not harness.pg_pids():
        try:
            harness.pg_start()
        except HarnessError as error:
            log(f"could not start PostgreSQL again: {error}")
    harness.pg_wait_ready()


def hold(harness: Harness, seconds: float, allow_down: bool = False) -> None:
    """Waits `seconds` (a measurement window: the time is the point), failing early if an
    instance that should be up died."""
    end = time.monotonic() + seconds
    while True:
        for role, proc in harness.instances.items():
            if proc.poll() is not None and not allow_down:
                raise HarnessError(f"claimlined {role.upper()} exited with {proc.returncode}: {harness.log_tail(role)}")
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))


def measure_failover(harness: Harness, row: Row, records: List[Dict[str, Any]], fault: PgFailover,
                     lost: List[Dict[str, Any]], restarted: List[str]) -> Dict[str, Any]:
    """The HA rows' figures: RTO per instance, claim numbers used twice, RPO (what was lost),
    the rejoin."""
    info = fault.info
    t_kill, t_promote = info["t_kill"], info["t_promote"]
    out: Dict[str, Any] = {"failover": True, "sync": info["sync"], "restarted": restarted}
    # RTO: from the promotion to each instance's first successful write (a call answered with a
    # claim number by that instance after it; the pinned callers a10/b10 always call it).
    rto: Dict[str, Optional[float]] = {}
    for role in ("a", "b"):
        oks = [r["t1"] for r in records if r["ok"] and r.get("served") == address(role) and r["t1"] >= t_promote]
        rto[role.upper()] = (min(oks) - t_promote) if oks else None
    out["rto_s"] = rto
    out["outage_s"] = {k: (None if v is None else v + t_promote - t_kill) for k, v in rto.items()}
    out["answered_kill_to_promotion"] = sum(1 for r in records if r["ok"] and t_kill <= r["t1"] < t_promote)
    # Errors reaching any caller with a 10 s deadline (the callers).
    ten = {g.name for g in row.groups if g.deadline >= 10.0}
    tens = [r for r in records if r["group"] in ten]
    out["errors_10s"] = sum(1 for r in tens if not r["ok"])
    out["calls_10s"] = len(tens)
    # Claim numbers: twice in the table (it is the primary key: a reuse would fail there), told
    # to two calls, or told to one call and stored under another.
    table_twice = harness.psql("SELECT claim_number FROM claims GROUP BY claim_number HAVING count(*) > 1", timeout=60)
    stored = {number: call_id for number, call_id in harness.psql("SELECT claim_number, call_id FROM claims", timeout=60)}
    told: Dict[str, set] = {}
    for r in records:
        if r["ok"]:
            told.setdefault(r["claim"], set()).add(r["call_id"])
    told_twice = [n for n, calls in told.items() if len(calls) > 1]
    stored_elsewhere = [n for n, calls in told.items() if n in stored and stored[n] not in calls]
    twice = sorted(set(n for (n,) in table_twice) | set(told_twice) | set(stored_elsewhere))
    out["numbers_twice"] = len(twice)
    out["numbers_twice_examples"] = twice[:5]

    def numbers(role: str, before: bool) -> List[str]:
        # After: calls started after the promotion (a call cut off by the kill and retried may be
        # answered later by replay, with the number its first attempt committed).
        return [r["claim"] for r in records if r["ok"] and r.get("served") == address(role)
                and ((r["t1"] < t_kill) if before else (r["t0"] >= t_promote))]

    blocks = []
    for role in ("a", "b"):
        b, a = numbers(role, True), numbers(role, False)
        if b and a:
            blocks.append(f"{role.upper()} {max(b)} last before the kill, {min(a)} first after the promotion")
    out["numbers_note"] = "; ".join(blocks)
    # RPO: acknowledged claims missing from the new primary, and how long before the kill they
    # were answered.
    out["rpo_claims"] = len(lost)
    out["rpo_window_ms"] = ([round((t_kill - r["t1"]) * 1000.0, 1) for r in lost if r.get("t1") is not None]
                           if lost else [])
    out["info"] = {k: v for k, v in info.items() if k not in ("t_kill", "t_promote")}
    out["rejoin_ok"] = bool(info.get("rejoin_ok"))
    return out


def failover_text(r: Dict[str, Any]) -> str:
    """The HA rows' figures, one sentence each, for the details list."""
    info = r["info"]
    rto = ", ".join(f"{k} {fmt_s(v) if v is not None else 'never'}" for k, v in r["rto_s"].items())
    outage = ", ".join(f"{k} {fmt_s(v) if v is not None else 'never'}" for k, v in r["outage_s"].items())
    parts = [
        f"primary {info['old']} killed; {info['new']} promoted {r['fault_seconds']:g} s later "
        f"(`cluster.sh promote` took {info.get('promote_s', 0):.2f} s; writable {info.get('writable_s', float('nan')):.2f} s after it was issued)",
        f"**RTO** (promotion to each instance's first acknowledged write): {rto}; from the kill: {outage}",
        f"**RPO**: {r['rpo_claims']} acknowledged claims lost" + (
            f" (answered {min(r['rpo_window_ms']):g}–{max(r['rpo_window_ms']):g} ms before the kill)" if r["rpo_window_ms"] else ""),
    ]
    lags, behind = info.get("flush_lag_ms") or [], info.get("bytes_behind") or []
    if lags:
        state = " ".join(info.get("before_state", ())) or "?"
        parts.append(f"the standby before the kill: {state}, flush lag max {max(lags):.1f} ms, WAL not yet flushed "
                     f"there max {max(behind)} bytes (last sample {behind[-1]})")
    parts.append(f"errors reaching the 10 s callers: {r['errors_10s']} of {r['calls_10s']} calls")
    parts.append(f"claim numbers used twice: {r['numbers_twice']}" + (f" ({', '.join(r['numbers_twice_examples'])})" if r["numbers_twice"] else "")
                 + (f"; numbers {r['numbers_note']}" if r["numbers_note"] else ""))
    if r["answered_kill_to_promotion"]:
        parts.append(f"{r['answered_kill_to_promotion']} calls answered between the kill and the promotion (committed before the kill)")
    if "rejoin_error" in info:
        parts.append(f"rejoin FAILED after {info['rejoin_s']:.1f} s: {info['rejoin_error'][-300:]}")
    else:
        sc = info.get("standby_claims")
        parts.append(f"old primary rejoined by {info.get('rejoin_how', '?')} in {info.get('rejoin_s', 0):.1f} s under the load, "
                     f"{' '.join(info.get('rejoin_state', ())) or 'not streaming'}"
                     + (f", {sc[0]} of the row's {sc[1]} claims replayed there after the callers stopped" if isinstance(sc, tuple)
                        else f", {sc}" if sc else ""))
    parts.append("A and B " + ("never restarted (the same processes throughout)" if not r["restarted"] else f"RESTARTED or exited: {', '.join(r['restarted'])}"))
    return "; ".join(parts)


def measure(harness: Harness, row: Row, records: List[Dict[str, Any]], timeline: Dict[str, float], baseline: float,
            fault: Optional[Fault] = None, restarted: Optional[List[str]] = None) -> Dict[str, Any]:
    prefix = call_prefix(harness, row) + "."
    claims_rows = harness.psql(f"SELECT call_id, claim_number FROM claims WHERE call_id LIKE '{prefix}%'", timeout=60)
    audit_rows = harness.psql(
        f"SELECT idempotency_key, claim_number, call_id FROM audit WHERE call_id LIKE '{prefix}%' AND method ILIKE '%complaint%'",
        timeout=60,
    )
    claims_by_call: Dict[str, List[str]] = {}
    for call_id, number in claims_rows:
        claims_by_call.setdefault(call_id, []).append(number)
    claim_numbers = {number for _, number in claims_rows}
    audit_by_key: Dict[str, List[str]] = {}
    for key, number, _ in audit_rows:
        audit_by_key.setdefault(key, []).append(number)

    acked = [r for r in records if r["ok"]]
    # The audit record is written in the claim's own transaction: it tells which key (logical
    # write) a claim belongs to. Used when it covers every acknowledged call; else call ids.
    audit_usable = bool(acked) and all(r.get("key") in audit_by_key for r in acked)

    def applied(record: Dict[str, Any]) -> bool:
        if audit_usable and record.get("key"):
            return any(n in claim_numbers for n in audit_by_key.get(record["key"], []))
        return record["call_id"] in claims_by_call

    lost = [r for r in acked if r.get("claim") not in claim_numbers or r.get("claim") not in claims_by_call.get(r["call_id"], [])]
    duplicated_calls = [c for c, numbers in claims_by_call.items() if len(numbers) > 1]
    duplicated_keys = [k for k, numbers in audit_by_key.items() if len(numbers) > 1]
    key_calls = {key: call_id for key, _, call_id in audit_rows}
    dup_key_calls = {key_calls[k] for k in duplicated_keys}
    failed = [r for r in records if not r["ok"]]
    wrong_not_applied = [r for r in failed if says_not_applied(r) and applied(r)]
    unknown = [r for r in failed if not says_not_applied(r)]
    unknown_applied = [r for r in unknown if applied(r)]

    fs, fe = timeline["fault_start"], timeline["fault_end"]
    base_from = max(timeline["go"] + 1.0, fs - baseline)

    def group_records(name: str) -> List[Dict[str, Any]]:
        return [r for r in records if r["group"] == name]

    def in_flight_during(r: Dict[str, Any]) -> bool:
        """The call was out at some moment of the fault (started before its end, answered
        after its start; never answered counts as answered at the end)."""
        return r["t0"] <= fe and (r.get("t1") is None or r["t1"] >= fs)

    target = group_records(row.target_group)
    during = [r for r in target if in_flight_during(r)]
    during_ok = sum(1 for r in during if r["ok"])

    def per_caller_first_ok(since: float) -> Tuple[Optional[float], Optional[float], int]:
        callers = sorted({r["caller"] for r in target}, key=str)
        firsts = []
        never = 0
        for caller in callers:
            oks = [r["t1"] for r in target if r["caller"] == caller and r["ok"] and r["t0"] >= since]
            if oks:
                firsts.append(min(oks) - since)
            else:
                never += 1
        worst = max(firsts) if firsts and not never else None
        median = sorted(firsts)[len(firsts) // 2] if firsts else None
        return worst, median, never

    first_worst, first_median, first_never = per_caller_first_ok(fs)
    flow_worst, flow_median, flow_never = per_caller_first_ok(fe)

    def latencies(chosen: List[Dict[str, Any]]) -> Tuple[List[float], int]:
        values = [(r["t1"] - r["t0"]) * 1000.0 for r in chosen if r.get("t1") is not None]
        values += [float("inf")] * sum(1 for r in chosen if r.get("t1") is None)
        return values, sum(1 for r in chosen if not r["ok"])

    def before(group: str) -> List[Dict[str, Any]]:
        # Calls of the baseline window answered before the fault began.
        return [r for r in group_records(group) if r["t0"] >= base_from and r.get("t1") is not None and r["t1"] < fs]

    def overlapping(group: str) -> List[Dict[str, Any]]:
        return [r for r in group_records(group) if in_flight_during(r)]

    obs_before, obs_before_errors = latencies(before(row.observer_group))
    obs_during, obs_during_errors = latencies(overlapping(row.observer_group))
    tgt_before, _ = latencies(before(row.target_group))
    tgt_during, _ = latencies(overlapping(row.target_group))

    errors: Dict[str, int] = {}
    for r in failed:
        label = f"{r['group']}: {error_label(r)}"
        errors[label] = errors.get(label, 0) + 1
    probe = [r for r in records if r["group"] == "probe"]

    result: Dict[str, Any] = {
        "row": row.id,
        "title": row.title,
        "fault_seconds": round(fe - fs, 2),
        "calls": len(records),
        "acked": len(acked),
        "failed": len(failed),
        "lost": len(lost),
        "lost_examples": [r["call_id"] for r in lost[:5]],
        "duplicated": len(set(duplicated_calls) | dup_key_calls),
        "duplicated_examples": duplicated_calls[:5],
        "wrong_not_applied": len(wrong_not_applied),
        "wrong_not_applied_examples": [f"{r['call_id']} {error_label(r)}" for r in wrong_not_applied[:5]],
        "unknown_outcome": len(unknown),
        "unknown_applied": len(unknown_applied),
        "applied_check": "audit (idempotency key)" if audit_usable else "call id",
        "target_group": row.target_group,
        "target_calls": len(target),
        "target_errors": sum(1 for r in target if not r["ok"]),
        "during_calls": len(during),
        "during_ok": during_ok,
        "during_success_pct": (100.0 * during_ok / len(during)) if during else None,
        "first_ok_after_start_s": first_worst,
        "first_ok_after_start_median_s": first_median,
        "first_ok_never": first_never,
        "flow_after_end_s": flow_worst,
        "flow_after_end_median_s": flow_median,
        "flow_never": flow_never,
        "target_p99_before_ms": percentile(tgt_before, 99),
        "target_p99_during_ms": percentile(tgt_during, 99),
        "observer_group": row.observer_group,
        "observer_p99_before_ms": percentile(obs_before, 99),
        "observer_p99_during_ms": percentile(obs_during, 99),
        "observer_calls_before": len(obs_before),
        "observer_calls_during": len(obs_during),
        "observer_errors_before": obs_before_errors,
        "observer_errors_during": obs_during_errors,
        "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        "probe": [
            {"call_id": r["call_id"], "ok": r["ok"], "claim": r.get("claim"), "error": None if r["ok"] else error_label(r),
             "seconds": None if r.get("t1") is None else round(r["t1"] - r["t0"], 3), "applied": applied(r)}
            for r in probe
        ],
    }
    if row.fault == "freeze_a_locks" and not probe:
        result.setdefault("notes_extra", []).append("no probe was sent")
    if isinstance(fault, PgFailover):
        result.update(measure_failover(harness, row, records, fault, lost, restarted or []))
    result["checks"] = checks(row, result)
    return result


def fmt_s(value: Optional[float], never: int = 0) -> str:
    if never:
        return f"never ({never} callers)"
    return "—" if value is None else f"{value:.2f} s"


def fmt_ms(value: Optional[float]) -> str:
    if value is None:
        return "—"
    if value == float("inf"):
        return "no answer"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def checks(row: Row, r: Dict[str, Any]) -> List[Tuple[str, bool, str]]:
    """(what, passed, measured) for each target of the row and the correctness invariants."""
    out: List[Tuple[str, bool, str]] = []
    t = row.targets
    if "success_pct" in t:
        pct = r["during_success_pct"]
        out.append((f">= {t['success_pct']:g} % of {row.target_group}'s calls during the fault succeed",
                    pct is not None and pct >= t["success_pct"],
                    "no calls" if pct is None else f"{pct:.1f} % ({r['during_ok']}/{r['during_calls']})"))
    if "first_ok_s" in t:
        worst = r["first_ok_after_start_s"]
        out.append((f"each {row.target_group} caller's first success within {t['first_ok_s']:g} s of the fault's start",
                    worst is not None and r["first_ok_never"] == 0 and worst <= t["first_ok_s"],
                    fmt_s(worst, r["first_ok_never"])))
    if "no_errors" in t:
        out.append((f"no error reaches {row.target_group}'s callers",
                    r["target_errors"] == 0, f"{r['target_errors']} errors of {r['target_calls']} calls"))
    if "p99_ratio" in t:
        before, during = r["observer_p99_before_ms"], r["observer_p99_during_ms"]
        ok = before is not None and during is not None and during <= t["p99_ratio"] * before
        out.append((f"{row.observer_group}'s p99 during the fault within {t['p99_ratio']:g}x of before",
                    ok, f"{fmt_ms(before)} -> {fmt_ms(during)}"))
    if "no_errors_10s" in t:
        out.append(("no error reaches the callers with a 10 s deadline (ab10, a10, b10)",
                    r["errors_10s"] == 0, f"{r['errors_10s']} errors of {r['calls_10s']} calls"))
    if "rto_s" in t:
        worst = [v for v in r["rto_s"].values()]
        out.append((f"writes flow again on A and on B within {t['rto_s']:g} s of the promotion",
                    all(v is not None and v <= t["rto_s"] for v in worst),
                    ", ".join(f"{k} {'never' if v is None else f'{v:.2f} s'}" for k, v in r["rto_s"].items())))
    if "numbers_once" in t:
        out.append(("no claim number used twice", r["numbers_twice"] == 0,
                    str(r["numbers_twice"]) + (f" ({', '.join(r['numbers_twice_examples'])})" if r["numbers_twice"] else "")))
    if "no_restart" in t:
        out.append(("A and B never restarted or exited", not r["restarted"], ", ".join(r["restarted"]) or "none"))
    if "rejoined" in t:
        info = r["info"]
        sc = info.get("standby_claims")
        if info.get("rejoin_error"):
            measured = "cluster.sh rejoin failed: " + info["rejoin_error"][-200:]
        else:
            measured = " ".join(info.get("rejoin_state", ())) or "not in pg_stat_replication"
            measured += f"; {sc[0]} of {sc[1]} claims there" if isinstance(sc, tuple) else f"; {sc or 'claims not compared'}"
        out.append(("the old primary streams again as the synchronous standby, with every claim", r["rejoin_ok"], measured))
    if "rpo_informational" in t:
        # Asynchronous replication: losing what was not yet streamed is what it is; measured.
        out.append(("informational: acknowledged claims lost (RPO)", True, str(r["lost"])))
        if "numbers_twice" in r:
            out.append(("informational: claim numbers used twice", True, str(r["numbers_twice"])))
        if "rto_s" in r:
            out.append(("informational: RTO (promotion to the first write)", True,
                        ", ".join(f"{k} {'never' if v is None else f'{v:.2f} s'}" for k, v in r["rto_s"].items())))
    else:
        out.append(("0 acknowledged claims lost", r["lost"] == 0, str(r["lost"])))
    out.append(("0 duplicated", r["duplicated"] == 0, str(r["duplicated"])))
    out.append(("0 told 'not applied' that were applied", r["wrong_not_applied"] == 0, str(r["wrong_not_applied"])))
    return out


# ---------------------------------------------------------------------------------------------
# the report


def table(results: List[Dict[str, Any]], rows_by_id: Dict[str, Row]) -> List[str]:
    lines = [
        "| fault | calls acknowledged / made | the target callers' calls out during the fault that succeeded | lost | duplicated "
        "| told \"not applied\" but applied | first success after the fault's start (slowest target caller) "
        "| calls flow again after the fault's end (slowest target caller) | target callers' p99 before → during "
        "| other callers' p99 before → during | target | met? |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        row = rows_by_id[r["row"]]
        if "error" in r:
            lines.append(f"| `{r['row']}`: {r['title']} | not measured: harness error ({r['error'][:200]}) |" + " |" * 10)
            continue
        pct = r["during_success_pct"]
        during = "—" if pct is None else f"{pct:.1f} % ({r['during_ok']}/{r['during_calls']})"
        failed = [c for c in r["checks"] if not c[1]]
        verdict = "yes" if not failed else "**no**: " + "; ".join(f"{what}: {measured}" for what, _, measured in failed)
        tgt = f"{fmt_ms(r['target_p99_before_ms'])} → {fmt_ms(r['target_p99_during_ms'])} (`{r['target_group']}`)"
        obs = f"{fmt_ms(r['observer_p99_before_ms'])} → {fmt_ms(r['observer_p99_during_ms'])} (`{r['observer_group']}`"
        if r["observer_errors_during"]:
            obs += f", {r['observer_errors_during']} errors"
        obs += ")"
        target = target_label(row)
        lines.append(
            f"| `{r['row']}`: {r['title']} | {r['acked']} / {r['calls']} | {during} | {r['lost']} | {r['duplicated']} | "
            f"{r['wrong_not_applied']} | {fmt_s(r['first_ok_after_start_s'], r['first_ok_never'])} | "
            f"{fmt_s(r['flow_after_end_s'], r['flow_never'])} | {tgt} | {obs} | {target} | {verdict} |"
        )
    return lines


def describe_groups(row: Row) -> str:
    names = {"a": "A", "b": "B", "ra": "A through the relay"}
    parts = []
    for g in row.groups:
        pace = "closed loop" if g.pace <= 0 else f"one call every {g.pace * 1000:g} ms each"
        text = f"`{g.name}` {g.callers} callers on {', '.join(names[r] for r in g.roles)}, {g.deadline:g} s deadline, {pace}"
        if g.probe_roles:
            text += f" (and the one write for a locked contact, on {', '.join(names[r] for r in g.probe_roles)}, {g.probe_deadline:g} s deadline)"
        parts.append(text)
    return "; ".join(parts)


def details(results: List[Dict[str, Any]], rows_by_id: Dict[str, Row]) -> List[str]:
    lines = []
    for r in results:
        if "error" in r:
            lines.append(f"- `{r['row']}`: not measured: {r['error']}")
            continue
        parts = [f"{label} {count}" for label, count in r["errors"].items()] or ["none"]
        if r.get("failover"):
            text = f"- `{r['row']}` ({describe_groups(rows_by_id[r['row']])}): {failover_text(r)}; final errors: {', '.join(parts)}"
        else:
            text = f"- `{r['row']}` ({describe_groups(rows_by_id[r['row']])}): fault held {r['fault_seconds']:g} s; final errors: {', '.join(parts)}"
        if r["unknown_outcome"]:
            text += f"; outcome unknown to the caller: {r['unknown_outcome']} ({r['unknown_applied']} of them applied)"
        for probe in r.get("probe", []):
            text += (f"; the write to B for the locked contact: {'answered ' + str(probe['claim']) if probe['ok'] else probe['error']}"
                     f" after {probe['seconds']} s" + (" (applied)" if probe["applied"] else " (not applied)"))
        for note in r.get("notes", []):
            text += f"; {note}"
        text += f"; applied checked by {r['applied_check']}."
        lines.append(text)
    return lines


def loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def client_state() -> str:
    """Which clients/python the callers ran: its last commit, and whether the tree differs."""
    head = sh(["git", "-C", REPO, "log", "-1", "--format=%h", "--", "clients/python"], check=False).stdout.strip()
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--", "clients/python"], check=False).stdout.strip()
    if not head:
        return "clients/python (not in git)"
    return f"clients/python at {head}" + (" with uncommitted changes" if dirty else "")


def binary_id(binary: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(binary, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    built = datetime.datetime.fromtimestamp(binary.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"sha256 {digest.hexdigest()[:12]}, built {built}"


def write_doc(results: List[Dict[str, Any]], rows_by_id: Dict[str, Row], meta: Dict[str, str]) -> None:
    body = [
        BEGIN_MARK,
        "",
        f"Measured {meta['date']} with `{meta['command']}` (claimlined: `{meta['binary']}`, a **{meta['kind']}** build, "
        f"{meta['binary_id']}; the Python client: {meta['client']}; {meta['elapsed']}; each row {meta['windows']}; "
        f"the machine's load average {meta['load']}, other work included). "
        "Written by `tools/faults/faults.py`: do not edit by hand.",
        "",
        *table(results, rows_by_id),
        "",
        *details(results, rows_by_id),
        "",
        END_MARK,
    ]
    text = DOC.read_text(encoding="utf-8")
    if BEGIN_MARK not in text or END_MARK not in text:
        raise HarnessError(f"{DOC} has no {BEGIN_MARK} ... {END_MARK} markers")
    head, rest = text.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    DOC.write_text(head + "\n".join(body) + tail, encoding="utf-8")
    log(f"wrote the table into {DOC}")


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the short subset (make test): assert, exit 1 on a miss")
    parser.add_argument("--rows", help="comma-separated row ids (see --list)")
    parser.add_argument("--claimlined", default=os.environ.get("CLAIMLINED", ""), help="the claimlined binary")
    parser.add_argument("--client-path", help="another copy of clients/python to call with (default: the repo's)")
    parser.add_argument("--build-kind", help="debug or release (default: read from the binary)")
    parser.add_argument("--write-doc", action="store_true", help="write the table into docs/SCALING.md (full matrix only)")
    parser.add_argument("--report-only", action="store_true", help="exit 0 on misses (the measurement itself worked)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, records)")
    parser.add_argument("--json", help="write every row's measurements to this file")
    parser.add_argument("--baseline", type=float, help="seconds of calls before each fault (default 6; --quick 4)")
    parser.add_argument("--after", type=float, help="seconds of calls after each fault (default 8; --quick 5)")
    parser.add_argument("--cleanup", action="store_true", help="remove leftovers of earlier runs and exit")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args()

    if args.baseline is None:
        args.baseline = 4.0 if args.quick else 6.0
    if args.after is None:
        args.after = 5.0 if args.quick else 8.0
    rows_by_id = {row.id: row for row in ROWS}
    if args.list:
        for row in ROWS:
            always = CORRECTNESS_ASYNC if "rpo_informational" in row.targets else CORRECTNESS
            print(f"{row.id:17} {'quick ' if row.quick else '      '}{row.title}\n{'':24}target: {target_label(row)}; {always}")
        return 0
    if os.geteuid() != 0:
        print("faults.py: needs root (network namespaces, nftables, PostgreSQL as the postgres user)", file=sys.stderr)
        return 2
    if args.cleanup:
        removed = cleanup_leftovers()
        log(f"cleanup: {removed} things removed")
        return 0

    if args.rows:
        wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
        unknown = [r for r in wanted if r not in rows_by_id]
        if unknown:
            print(f"faults.py: unknown rows {unknown}; rows: {', '.join(rows_by_id)}", file=sys.stderr)
            return 2
        rows = [rows_by_id[r] for r in wanted]
    elif args.quick:
        rows = [row for row in ROWS if row.quick]
    else:
        rows = list(ROWS)
    full = not args.quick and not args.rows
    if args.write_doc and not full:
        print("faults.py: --write-doc writes the whole matrix only (no --quick, no --rows)", file=sys.stderr)
        return 2
    if not args.claimlined:
        print("faults.py: --claimlined PATH (or CLAIMLINED=...) is required", file=sys.stderr)
        return 2
    claimlined = Path(args.claimlined).resolve()
    if not os.access(claimlined, os.X_OK):
        print(f"faults.py: {claimlined} is not an executable", file=sys.stderr)
        return 2
    kind = args.build_kind or build_kind(claimlined)

    cleanup_leftovers(verbose=True)
    client_path = Path(args.client_path).resolve() if args.client_path else REPO / "clients" / "python"
    if not (client_path / "claimline" / "__init__.py").exists():
        print(f"faults.py: {client_path} has no claimline package", file=sys.stderr)
        return 2
    load_at_start = loadavg()
    log(f"load average {load_at_start} (1, 5, 15 min) on {os.cpu_count()} CPUs")
    client_at_start = client_state() if not args.client_path else f"`{client_path}` (--client-path)"
    harness = Harness(claimlined, keep=args.keep, client_path=client_path)

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    results: List[Dict[str, Any]] = []
    began = time.monotonic()
    status = 0
    try:
        log(f"claimlined {claimlined} ({kind} build); rows: {', '.join(r.id for r in rows)}")
        harness.make_network()
        if any(row.topology == "single" for row in rows):
            harness.make_postgres()
            harness.check_paths()
        # The HA rows make their pair (a primary and its standby) when the first of them runs.
        for row in rows:
            try:
                results.append(run_row(harness, row, args.baseline, args.after))
            except HarnessError as error:
                # This row could not be measured; the next starts its instances afresh.
                log(f"row {row.id}: harness error: {error}")
                results.append(unmeasured(row, str(error)))
                recover(harness, row)
            for what, passed, measured in results[-1]["checks"]:
                log(f"  {row.id}: {'PASS' if passed else 'MISS'} {what}: {measured}")
    except KeyboardInterrupt as stop:
        log(f"interrupted ({stop}): tearing down")
        status = 130
    except HarnessError as error:
        log(f"harness error: {error}")
        status = 2
    finally:
        harness.teardown()
    elapsed = time.monotonic() - began

    if results:
        print()
        print("\n".join(table(results, rows_by_id)))
        print()
        print("\n".join(details(results, rows_by_id)))
        print()
    if args.json:
        Path(args.json).write_text(json.dumps({"claimlined": str(claimlined), "kind": kind, "results": results}, indent=2, default=str))
    passed = sum(1 for r in results for c in r["checks"] if c[1])
    failed = sum(1 for r in results for c in r["checks"] if not c[1])
    for r in results:
        for what, ok, measured in r["checks"]:
            if not ok:
                print(f"MISS {r['row']}: {what}: {measured}")
    if status == 0 and args.write_doc:
        minutes, seconds = divmod(int(elapsed), 60)
        command = f"tools/faults/run.sh --write-doc --claimlined {claimlined}"
        write_doc(
            results,
            rows_by_id,
            {
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "command": command,
                "binary": str(claimlined),
                "kind": kind,
                "binary_id": binary_id(claimlined),
                "client": client_at_start,
                "elapsed": f"{minutes}m{seconds:02d}s for the matrix",
                "load": f"{load_at_start} at the start and {loadavg()} at the end",
                "windows": f"{args.baseline:g} s of calls before the fault and {args.after:g} s after it",
            },
        )
    log(f"{len(results)} rows in {elapsed:.0f} s")
    print(f"{passed} passed, {failed} failed")
    if status:
        return status
    if any("error" in r for r in results):
        return 2  # a row could not be measured: never "only a miss"
    if failed and not args.report_only:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
