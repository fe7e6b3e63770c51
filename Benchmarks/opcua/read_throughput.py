#!/usr/bin/env python3
"""OPC UA Read throughput, Railgate vs open62541 (the C server Debian 13
packages as libopen62541-1.4) and the asyncua server, same client, same host,
each holding 1000 UInt16 variables ns=1;s=bench/meter/t0…t999 that change
every 100 ms: Read requests per second at 1, 100 and 1000 nodes per request,
with 1 and 4 client connections. The client is open62541's own
(Benchmarks/opcua/open62541/client.c, `ua-ref-read`), so both C and Swift
servers answer the same requests from the same code. Railgate's 1000 tags come
from a Modbus device on the libmodbus C server, polled every 100 ms while it
serves; the open62541 reference writes its 1000 values every 100 ms.

The open62541 programs run in the Debian 13 root that scripts/lib/open62541-root
keeps (chroot, same network). While 1000-node requests run against Railgate,
`perf record` (cpu-clock samples, call graphs) profiles the process; the
functions with the most samples (own time) are printed, so the figure says what
dominates. Afterwards the RSS of each server and Railgate's memory per session
and per 1000 monitored items are read. Every run is bounded in time."""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchlib import build_modbus, free_port, meter_config, record, stop, wait_path, wait_port  # noqa: E402

VARIABLES = 1000
BENCH_DIR = "/opt/railgate-bench"


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Load:
    """The open62541 read client in the Debian 13 root."""

    def __init__(self, root, nodes_dir):
        self.root = root
        self.nodes_dir = nodes_dir  # inside the root

    def command(self, port, nodes, per_request, connections, seconds):
        return ["chroot", self.root, f"{BENCH_DIR}/ua-ref-read", "--url", f"opc.tcp://127.0.0.1:{port}",
                "--nodes", f"{self.nodes_dir}/{nodes}", "--per-request", str(per_request),
                "--connections", str(connections), "--seconds", str(seconds)]

    def rate(self, port, nodes, per_request, connections, seconds):
        out = subprocess.run(self.command(port, nodes, per_request, connections, seconds), capture_output=True,
                             text=True, timeout=seconds + 60)
        fields = dict(item.split("=") for item in out.stdout.split() if "=" in item)
        if out.returncode or "rate" not in fields or int(fields.get("failures", 1)):
            raise SystemExit(f"ua-ref-read on port {port}: {out.stdout} {out.stderr[-1000:]}")
        return float(fields["rate"])


def profile(pid, seconds, work):
    """Top own-time functions of `pid` over `seconds`, as (percent, name)."""
    if not shutil.which("perf"):
        return []
    data = work / "perf.data"
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(pid), "-o", data,
                    "--", "sleep", str(seconds)], capture_output=True, timeout=seconds + 60)
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol",
                             "-g", "none", "--percent-limit", "1.5"], capture_output=True, text=True).stdout
    rows = []
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if match:
            rows.append((float(match.group(1)), match.group(2), match.group(3).strip()))
    names = [name for *_, name in rows]
    if shutil.which("swift") and names:
        names = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names),
                               capture_output=True, text=True).stdout.splitlines()
    return [(percent, dso, names[i] if i < len(names) else name) for i, (percent, dso, name) in enumerate(rows)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--open62541-root", required=True, help="the root scripts/lib/open62541-root prints")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    root = Path(args.open62541_root)
    with tempfile.TemporaryDirectory(prefix="rg-ua-bench-") as tmp, \
            tempfile.TemporaryDirectory(prefix="rg-ua-bench-", dir=root / "tmp") as inside:
        work = Path(tmp)
        load = Load(root, "/tmp/" + Path(inside).name)
        build_modbus(work, names=("server",))
        procs = []
        try:
            modbus_port, ua_port, c_port, py_port = free_port(), free_port(), free_port(), free_port()
            procs.append(subprocess.Popen([work / "server", str(modbus_port), "900"], stdout=subprocess.DEVNULL))
            wait_port(modbus_port)
            (work / "opcua.yaml").write_text(meter_config(modbus_port, VARIABLES,
                                                          f"opcua: {{host: 127.0.0.1, port: {ua_port}}}"))
            # Railgate and open62541 serve the same NodeIds.
            (Path(inside) / "nodes.txt").write_text("".join(f"ns=1;s=bench/meter/t{i}\n" for i in range(VARIABLES)))
            asyncua_nodes = Path(inside) / "asyncua-nodes.txt"
            gateway = subprocess.Popen([args.railgate, "run", "--config", work / "opcua.yaml"],
                                       stdout=subprocess.DEVNULL, stderr=open(work / "railgate.log", "w"))
            procs.append(gateway)
            reference = subprocess.Popen(["chroot", root, f"{BENCH_DIR}/ua-ref-server", str(c_port), str(VARIABLES)],
                                         stdout=subprocess.DEVNULL, stderr=open(work / "open62541.log", "w"))
            procs.append(reference)
            procs.append(subprocess.Popen([sys.executable, HERE / "asyncua_server.py", "--port", str(py_port),
                                           "--count", str(VARIABLES), "--nodes-file", asyncua_nodes],
                                          stdout=subprocess.DEVNULL, stderr=open(work / "asyncua.log", "w")))
            wait_port(ua_port)
            wait_port(c_port)
            wait_path(asyncua_nodes, timeout=120)
            wait_port(py_port)
            time.sleep(1)
            rows = []
            for per in (1, 100, 1000):
                for connections in (1, 4):
                    ours = load.rate(ua_port, "nodes.txt", per, connections, args.seconds)
                    c = load.rate(c_port, "nodes.txt", per, connections, args.seconds)
                    py = load.rate(py_port, asyncua_nodes.name, per, connections, args.seconds)
                    rows.append((per, connections, ours, c, py))
            rss = {"railgate": rss_mib(gateway.pid), "open62541": rss_mib(reference.pid)}
            # Profile while 1000-node Reads run.
            profiled = subprocess.Popen(load.command(ua_port, "nodes.txt", 1000, 1, args.seconds + 2),
                                        stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            top = profile(gateway.pid, args.seconds, work)
            profiled.wait(timeout=args.seconds + 60)
            footprint = subprocess.run([sys.executable, HERE / "footprint.py", "--pid", str(gateway.pid),
                                        "--url", f"opc.tcp://127.0.0.1:{ua_port}",
                                        "--nodes-file", Path(inside) / "nodes.txt",
                                        "--sessions", "20", "--items", "10000"],
                                       capture_output=True, text=True, timeout=300)
            if footprint.returncode:
                raise SystemExit(f"OPC UA memory figures failed: {footprint.stderr[-2000:]}")
            memory = footprint.stdout.strip()
        finally:
            stop(procs)
    print(f"{'nodes/request':>13} {'clients':>7} {'Railgate req/s':>14} {'open62541 req/s':>15} {'ratio':>6}"
          f" {'asyncua req/s':>13} {'ratio':>7}")
    figures = {}
    for per, connections, ours, c, py in rows:
        print(f"{per:>13} {connections:>7} {ours:>14.0f} {c:>15.0f} {ours / c:>5.2f}x {py:>13.0f} {ours / py:>6.1f}x")
        figures[f"nodes_{per}_clients_{connections}"] = {
            "railgate_rps": round(ours), "open62541_rps": round(c), "vs_open62541": round(ours / c, 2),
            "asyncua_rps": round(py), "vs_asyncua": round(ours / py, 2)}
    print(f"RSS after the runs: Railgate {rss['railgate']:.1f} MiB, open62541 {rss['open62541']:.1f} MiB")
    print("where Railgate spends its time serving 1000-node Reads (perf, own time, ≥ 1.5 % of samples):")
    for percent, dso, name in top:
        print(f"  {percent:5.1f}%  {dso:<22} {name[:110]}")
    print(f"memory: {memory}")
    memory_fields = {k: float(v) for k, v in (item.split("=") for item in memory.split())}
    record("opcua_read", variables=VARIABLES, **figures, memory=memory_fields,
           rss_mib={k: round(v, 1) for k, v in rss.items()},
           profile_1000_nodes=[{"percent": p, "dso": d, "function": n} for p, d, n in top])
    return 0


if __name__ == "__main__":
    sys.exit(main())
