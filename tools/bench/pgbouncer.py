#!/usr/bin/env python3
"""Helpers of tools/bench/pgbouncer.sh (connection budgets, pgbouncer): read PostgreSQL's
processes from /proc, sample CPU during a run, and check claimlined through a pooler.

  pgbouncer.py mem PGDATA [DB]          JSON: every process of the cluster (postmaster, its
                                        children) with its memory; DB: only that database's
                                        client backends
  pgbouncer.py sample OUT PGDATA PID... every 0.25 s until SIGTERM, one JSON line: time, the
                                        cluster's CPU (postmaster and children, exited ones
                                        included), each PID's CPU, client backends per database
  pgbouncer.py window OUT T0 T1         CPU seconds of each column between T0 and T1 (JSON),
                                        and the peak number of backends per database
  pgbouncer.py checks CLI A B PSQL_URL  end-to-end checks through two claimlined A and B
                                        (host:port) on one database; JSON on stdout

Memory, how it is counted (smaps_rollup and smaps of each process):
  pss        the process's proportional share of every page it maps
  pss_anon   its share of anonymous memory (its heap: catalog caches, plans, sort memory;
             pages still shared copy-on-write with the postmaster are divided)
  pss_shmem  its share of PostgreSQL's shared memory (shared_buffers and the rest of the main
             segment, dynamic shared memory) among the processes that touched each page
  uss_anon   anonymous pages mapped by this process alone (smaps: Private_* of mappings that
             are neither files nor the shared segment): freed when the backend exits
  pte        its page tables (VmPTE): kernel memory that grows with the shared memory it touched
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def postmaster_pid(pgdata):
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        return int(f.readline().strip())


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields


def cpu_of(pid, children=False):
    """utime+stime (and the children that exited: cutime+cstime) in seconds."""
    fields = stat(pid)
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    n = 15 if children else 13
    return sum(int(x) for x in fields[11:n]) / TICK


def cluster_pids(pgdata):
    pm = postmaster_pid(pgdata)
    pids = [pm]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if int(stat(d)[1]) == pm:
                pids.append(int(d))
        except (OSError, IndexError):
            continue
    return pm, pids


def title(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def memory(pid):
    out = {"pid": pid, "title": title(pid)}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":").lower()] = int(parts[1])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmPTE:"):
                out["pte"] = int(line.split()[1])
    # Private anonymous memory, from the full smaps: mappings that are not files, not the main
    # shared segment (an anonymous shared mapping, "/dev/zero (deleted)" or "SYSV...") and not
    # dynamic shared memory (/dev/shm).
    uss = 0
    name = None
    private = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                if name is not None:
                    uss += private
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) > 5 else ""
                anon = path == "" or path.startswith("[heap]") or path.startswith("[stack]") or path.startswith("[anon")
                name = path if anon else None
                private = 0
            elif name is not None and (line.startswith("Private_Clean:") or line.startswith("Private_Dirty:")):
                private += int(line.split()[1])
    if name is not None:
        uss += private
    out["uss_anon"] = uss
    return out


def backend_db(t):
    # "postgres: USER DB HOST(PORT) STATE"
    m = re.match(r"^postgres: (\S+) (\S+) \d+\.\d+\.\d+\.\d+\(\d+\)", t) or re.match(r"^postgres: (\S+) (\S+) \[local\]", t)
    return (m.group(1), m.group(2)) if m else None


def cmd_mem(pgdata, db=None):
    pm, pids = cluster_pids(pgdata)
    rows = []
    for pid in pids:
        try:
            m = memory(pid)
        except OSError:
            continue
        who = backend_db(m["title"])
        m["kind"] = "postmaster" if pid == pm else ("client" if who else "background")
        m["database"] = who[1] if who else None
        if db is not None and m["database"] != db:
            continue
        rows.append(m)
    json.dump(rows, sys.stdout)
    print()


def cmd_sample(out, pgdata, pids):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    pm = postmaster_pid(pgdata)
    with open(out, "w") as f:
        while not stop:
            row = {"t": time.time()}
            total = 0.0
            dbs = {}
            active = {}
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    fields = stat(d)
                    if int(d) == pm or int(fields[1]) == pm:
                        total += sum(int(x) for x in fields[11:15]) / TICK
                        if int(d) != pm:
                            who = backend_db(title(d))
                            if who:
                                dbs[who[1]] = dbs.get(who[1], 0) + 1
                                if not title(d).endswith(" idle"):
                                    active[who[1]] = active.get(who[1], 0) + 1
                except (OSError, IndexError, ValueError):
                    continue
            row["pg"] = total
            row["backends"] = dbs
            row["busy"] = active
            for p in pids:
                try:
                    row[str(p)] = cpu_of(p)
                except OSError:
                    row[str(p)] = None
            f.write(json.dumps(row) + "\n")
            f.flush()
            time.sleep(0.25)


def cmd_window(out, t0, t1):
    rows = [json.loads(line) for line in open(out) if line.strip()]
    inside = [r for r in rows if t0 <= r["t"] <= t1]
    if len(inside) < 2:
        print(json.dumps({"error": "too few samples"}))
        return
    a, b = inside[0], inside[-1]
    res = {"seconds": b["t"] - a["t"]}
    for k in a:
        if k in ("t", "backends", "busy"):
            continue
        if a[k] is not None and b.get(k) is not None:
            res[k] = b[k] - a[k]
    peak = {}
    for r in inside:
        for db, n in r["backends"].items():
            peak[db] = max(peak.get(db, 0), n)
    res["peak_backends"] = peak
    busy = {}
    for r in inside:
        for db, n in r.get("busy", {}).items():
            busy.setdefault(db, []).append(n)
    res["mean_busy_backends"] = {db: sum(v) / len(inside) for db, v in busy.items()}
    print(json.dumps(res))


# ---- end-to-end checks through two instances --------------------------------------------------

def cli(binary, server, *args, timeout=10):
    t = time.time()
    p = subprocess.run([binary, *args, "--server", server, "--token", "dev-admin-token"],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).strip(), time.time() - t


def psql(url, sql):
    p = subprocess.run(["psql", "-X", "-At", url, "-c", sql], capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


def cmd_checks(binary, a, b, url, tag):
    res = {}
    msisdn = "+79161234567"
    # 1. One contact across both instances: Escalate on A, Retain on B, FileComplaint on A,
    #    then the reads on B.
    cid = f"{tag}-e2e"
    steps = [
        ("escalate@A", a, ["escalate", "--call-id", cid, "--msisdn", msisdn, "--tier", "2", "--region", "77",
                           "--category", "billing/balance_desync"]),
        ("retain@B", b, ["retain", "--call-id", cid, "--outcome", "impossible", "--reason", "cause_unknown"]),
        ("file@A", a, ["file", "--call-id", cid, "--msisdn", msisdn, "--category", "billing/balance_desync",
                       "--description", "pgbouncer check"]),
        ("contact-get@B", b, ["contact", "get", cid]),
        ("claim-list@B", b, ["claim", "list"]),
        ("stats@B", b, ["stats"]),
        ("second-line-get@B", b, ["second-line", "get"]),
    ]
    e2e = []
    for name, server, args in steps:
        rc, out, _ = cli(binary, server, *args)
        e2e.append({"step": name, "rc": rc, "out": out.splitlines()[0] if out else ""})
    m = re.search(r"claim (\d{4}-\d{6}) filed", " ".join(x["out"] for x in e2e))
    if m:
        rc, out, _ = cli(binary, b, "claim", "get", m.group(1))
        e2e.append({"step": "claim-get@B", "rc": rc, "out": out.splitlines()[0] if out else ""})
    res["e2e"] = e2e
    res["e2e_ok"] = all(x["rc"] == 0 for x in e2e)

    # 2. An incident declared on A: how soon B's escalations follow it. B is asked at once and
    #    then every ~poll until a decision is FOLLOW_INCIDENT_PLAYBOOK (5 s at most).
    delays = []
    for i in range(5):
        region = str(60 + i)  # a fresh region per trial: no earlier incident matches it
        rc, out, _ = cli(binary, a, "incident", "declare", "--title", f"{tag} trial {i}", "--region", region,
                         "--category", "billing", "--playbook-text", "apologise")
        declared = time.time()
        m = re.search(r"(INC-\d+)", out)
        inc = m.group(1) if m else None
        polls = 0
        seen = None
        while time.time() - declared < 5:
            polls += 1
            rc, out, _ = cli(binary, b, "escalate", "--call-id", f"{tag}-inc{i}-{polls}", "--msisdn", msisdn,
                             "--tier", "2", "--region", region, "--category", "billing/balance_desync")
            if "FOLLOW_INCIDENT_PLAYBOOK" in out:
                seen = time.time() - declared
                break
        delays.append({"incident": inc, "seconds": seen, "polls": polls})
        if inc:
            cli(binary, a, "incident", "withdraw", inc)
        time.sleep(0.37 * (i + 1) % 1.0)  # start the next trial at another phase of the 1 s re-read
    res["incident"] = delays

    # 3. Two instances racing on one idempotency key: both must answer the same claim.
    same = 0
    races = 10
    detail = []
    for i in range(races):
        key = f"{tag}-key-{i}"
        args = ["file", "--call-id", f"{tag}-race-{i}", "--msisdn", msisdn, "--category",
                "contact_centre/improper_service", "--place", "cc-1", "--description", "race", "--key", key]
        procs = [subprocess.Popen([binary, *args, "--server", s, "--token", "dev-admin-token"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for s in (a, b)]
        outs = [p.communicate(timeout=15)[0] for p in procs]
        nums = [re.search(r"claim (\d{4}-\d{6})", o) for o in outs]
        ok = all(nums) and nums[0].group(1) == nums[1].group(1)
        same += ok
        if not ok:
            detail.append(outs)
    rows = psql(url, f"SELECT count(*) FROM claims WHERE call_id LIKE '{tag}-race-%'")
    res["same_key"] = {"pairs": races, "same_claim": same, "claims_in_db": rows, "odd": detail[:3]}

    # 4. Two instances racing on one contact with different keys: exactly one Retain applies.
    one = 0
    detail = []
    for i in range(races):
        cid = f"{tag}-retain-{i}"
        cli(binary, a, "escalate", "--call-id", cid, "--msisdn", msisdn, "--tier", "2", "--region", "77",
            "--category", "billing/balance_desync")
        procs = [subprocess.Popen([binary, "retain", "--call-id", cid, "--outcome", "retained", "--server", s,
                                   "--token", "dev-admin-token"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for s in (a, b)]
        outs = [p.communicate(timeout=15) for p in procs]
        codes = [p.returncode for p in procs]
        if sorted(codes) == [0, 9]:
            one += 1
        else:
            detail.append([codes, [o[0] for o in outs]])
    res["same_contact"] = {"pairs": races, "exactly_one_applied": one, "odd": detail[:3]}
    json.dump(res, sys.stdout, ensure_ascii=False)
    print()


def main():
    cmd = sys.argv[1]
    if cmd == "mem":
        cmd_mem(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "sample":
        cmd_sample(sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]])
    elif cmd == "window":
        cmd_window(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "checks":
        cmd_checks(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
