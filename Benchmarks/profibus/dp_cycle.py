#!/usr/bin/env python3
"""PROFIBUS-DP cycle figures for scripts/bench: Railgate's master against the
slave simulator on a socat PTY pair, N slaves of 5 input and 5 output octets,
cycling as fast as the line allows for a fixed time.

Measured (from the gateway's line totals at stop): octets on the line per
cycle, CPU time of the line thread per cycle, wall time per cycle on the PTY
(set by the Python simulator's turnaround, not by Railgate).
Computed: the wire time the same telegrams need at 187.5 kbit/s and
1.5 Mbit/s — 11 bits per character (start, 8 data, even parity, stop), plus
per request/response pair the synchronisation idle TSYN (33 bit times) and the
minimum station delay min TSDR (11 bit times).
Every run is bounded in time."""

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IDLE_BITS_PER_EXCHANGE = 33 + 11


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import free_port, record  # noqa: E402


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def run(railgate, slaves, seconds, work):
    a, b = work / f"dp{slaves}-a", work / f"dp{slaves}-b"
    procs = [subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                              stderr=subprocess.DEVNULL)]
    try:
        assert wait(lambda: a.exists() and b.exists(), 10), "socat did not create the PTY pair"
        control = free_port()
        args = [sys.executable, ROOT / "scripts/sim/profibus_sim.py", "--port", b, "--control", str(control)]
        entries = []
        for i in range(slaves):
            address = 10 + i
            args += ["--slave", f"addr={address},ident=0x5247,cfg=10 51 20 61,counter=1"]
            entries.append(f"""      - name: s{address}
        address: {address}
        gsd: {ROOT / "hardware/gsd/RG_IO.gsd"}
        modules: ["8 DI", "2 AI word", "8 DO", "2 AO word"]
        tags: [{{name: counter, area: input, byte: 1, type: uint16}}, {{name: ao, area: output, byte: 1, type: uint16}}]""")
        procs.append(subprocess.Popen([str(x) for x in args], stdout=subprocess.DEVNULL))
        config = work / f"dp{slaves}.yaml"
        config.write_text(f"""gateway: {{id: bench, isa95: {{enterprise: bench}}}}
south:
  - name: dp
    protocol: profibus-dp
    serial: {{device: {a}, baud: 1500000}}
    cycle_ms: 1
    slaves:
""" + "\n".join(entries) + "\n")
        log = work / f"dp{slaves}.log"
        gateway = subprocess.Popen([railgate, "run", "--config", config], stdout=open(log, "w"), stderr=subprocess.STDOUT)
        procs.append(gateway)
        assert wait(lambda: log.read_text().count("in data exchange") >= slaves, 20), log.read_text()
        time.sleep(seconds)
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=20)
        totals = [line for line in log.read_text().splitlines() if "south totals" in line and "protocol=profibus-dp" in line][0]
        fields = dict(item.split("=", 1) for item in totals.split() if "=" in item)
        cycles = int(fields["cycles"])
        return {"cycles": cycles, "octets": int(fields["octets"]) / cycles,
                "cpu_us": int(fields["cpu_ns"]) / cycles / 1000, "wall_us": int(fields["wall_ns"]) / cycles / 1000}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--slaves", default="1,4,8")
    args = parser.parse_args()
    print(f"{'slaves':>6} {'cycles':>7} {'octets/cycle':>12} {'CPU µs/cycle':>12} {'PTY µs/cycle':>12}"
          f" {'wire µs @187.5k':>15} {'wire µs @1.5M':>13} {'CPU/wire @1.5M':>14}")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="rg-dp-bench-") as tmp:
        for n in (int(x) for x in args.slaves.split(",")):
            r = run(args.railgate, n, args.seconds, Path(tmp))
            bits = r["octets"] * 11 + n * IDLE_BITS_PER_EXCHANGE
            wire_slow = bits / 187_500 * 1e6
            wire_fast = bits / 1_500_000 * 1e6
            print(f"{n:>6} {r['cycles']:>7} {r['octets']:>12.1f} {r['cpu_us']:>12.1f} {r['wall_us']:>12.0f}"
                  f" {wire_slow:>15.0f} {wire_fast:>13.0f} {r['cpu_us'] / wire_fast:>14.2f}")
            figures[f"slaves_{n}"] = {"cycles": r["cycles"], "octets": round(r["octets"], 1),
                                      "cpu_us": round(r["cpu_us"], 1), "pty_us": round(r["wall_us"]),
                                      "wire_us_187k5": round(wire_slow), "wire_us_1m5": round(wire_fast),
                                      "cpu_vs_wire_1m5": round(r["cpu_us"] / wire_fast, 3)}
    record("profibus_dp_cycle", **figures)


if __name__ == "__main__":
    main()
