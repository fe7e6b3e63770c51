#!/usr/bin/env python3
"""OPC UA Read throughput, Railgate vs the asyncua server, same client
(Benchmarks/UAReadLoad, `ua-read-load`), same host, both holding 1000
variables: Read requests per second at 1, 100 and 1000 nodes per request,
with 1 and 4 client connections. Railgate's 1000 tags come from a Modbus
device on the libmodbus C server, polled every 100 ms while it serves.

While 1000-node requests run against Railgate, `perf record` (cpu-clock
samples, call graphs) profiles the process; the functions with the most
samples (own time) are printed, so the figure says what dominates.
Afterwards the memory per session and per 1000 monitored items is read.
Every run is bounded in time."""

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
from benchlib import build_modbus, free_port, meter_config, record, wait_path, wait_port  # noqa: E402

VARIABLES = 1000


def rate(load, port, nodes, per_request, connections, seconds):
    out = subprocess.run([load, "--host", "127.0.0.1", "--port", str(port), "--nodes", nodes,
                          "--per-request", str(per_request), "--connections", str(connections),
                          "--seconds", str(seconds)], capture_output=True, text=True, timeout=seconds + 60,
                         check=True).stdout
    fields = dict(item.split("=") for item in out.split())
    if int(fields["failures"]):
        raise SystemExit(f"ua-read-load on port {port}: {out}")
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
    parser.add_argument("--load", required=True, help="the ua-read-load binary")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-ua-bench-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        procs = []
        try:
            modbus_port, ua_port, ref_port = free_port(), free_port(), free_port()
            procs.append(subprocess.Popen([work / "server", str(modbus_port), "900"], stdout=subprocess.DEVNULL))
            wait_port(modbus_port)
            (work / "opcua.yaml").write_text(meter_config(modbus_port, VARIABLES,
                                                          f"opcua: {{host: 127.0.0.1, port: {ua_port}}}"))
            ours_nodes = work / "railgate-nodes.txt"
            ours_nodes.write_text("".join(f"ns=1;s=bench/meter/t{i}\n" for i in range(VARIABLES)))
            theirs_nodes = work / "asyncua-nodes.txt"
            gateway = subprocess.Popen([args.railgate, "run", "--config", work / "opcua.yaml"],
                                       stdout=subprocess.DEVNULL, stderr=open(work / "railgate.log", "w"))
            procs.append(gateway)
            procs.append(subprocess.Popen([sys.executable, HERE / "asyncua_server.py", "--port", str(ref_port),
                                           "--count", str(VARIABLES), "--nodes-file", theirs_nodes],
                                          stdout=subprocess.DEVNULL, stderr=open(work / "asyncua.log", "w")))
            wait_port(ua_port)
            wait_path(theirs_nodes, timeout=120)
            wait_port(ref_port)
            time.sleep(1)
            rows = []
            for per in (1, 100, 1000):
                for connections in (1, 4):
                    ours = rate(args.load, ua_port, ours_nodes, per, connections, args.seconds)
                    theirs = rate(args.load, ref_port, theirs_nodes, per, connections, args.seconds)
                    rows.append((per, connections, ours, theirs))
            # Profile while 1000-node Reads run.
            load = subprocess.Popen([args.load, "--host", "127.0.0.1", "--port", str(ua_port), "--nodes", ours_nodes,
                                     "--per-request", "1000", "--connections", "1",
                                     "--seconds", str(args.seconds + 2)], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            top = profile(gateway.pid, args.seconds, work)
            load.wait(timeout=args.seconds + 60)
            footprint = subprocess.run([sys.executable, HERE / "footprint.py", "--pid", str(gateway.pid),
                                        "--url", f"opc.tcp://127.0.0.1:{ua_port}", "--nodes-file", ours_nodes,
                                        "--sessions", "20", "--items", "10000"],
                                       capture_output=True, text=True, timeout=300)
            if footprint.returncode:
                raise SystemExit(f"OPC UA memory figures failed: {footprint.stderr[-2000:]}")
            memory = footprint.stdout.strip()
        finally:
            for p in procs:
                p.kill()
    print(f"{'nodes/request':>13} {'clients':>7} {'Railgate req/s':>14} {'asyncua req/s':>13} {'ratio':>7}")
    figures = {}
    for per, connections, ours, theirs in rows:
        ratio = ours / theirs if theirs else float("inf")
        print(f"{per:>13} {connections:>7} {ours:>14.0f} {theirs:>13.0f} {ratio:>6.1f}x")
        figures[f"nodes_{per}_clients_{connections}"] = {"railgate_rps": round(ours), "asyncua_rps": round(theirs),
                                                         "ratio": round(ratio, 2)}
    print("where Railgate spends its time serving 1000-node Reads (perf, own time, ≥ 1.5 % of samples):")
    for percent, dso, name in top:
        print(f"  {percent:5.1f}%  {dso:<22} {name[:110]}")
    print(f"memory: {memory}")
    memory_fields = {k: float(v) for k, v in (item.split("=") for item in memory.split())}
    record("opcua_read", variables=VARIABLES, **figures, memory=memory_fields,
           profile_1000_nodes=[{"percent": p, "dso": d, "function": n} for p, d, n in top])
    return 0


if __name__ == "__main__":
    sys.exit(main())
