#!/usr/bin/env python3
"""Modbus RTU cycle over a PTY pair (socat), against the libmodbus C server
(Benchmarks/modbus/server.c in RTU mode), for one slave with a scattered map
of 64 tags over holding and input registers.

Prints, per poll cycle:
- transactions: Railgate's read plan vs the minimal plan (the partition of
  the map into requests with the least time on a 19200 8E1 wire, found by
  dynamic programming) vs one request per tag;
- octets on the wire, counted by the server (request and reply ADUs, CRC
  included), vs the minimal plan's;
- wire time at 19200 8E1 (11 bits per character) including the 3.5-character
  silences before every request and every reply, vs the minimal plan's;
- the cycle time Railgate measured on the PTY vs that wire time. A PTY
  delivers at once, whatever the baud rate: the PTY cycle is Railgate's own
  time plus the inter-frame silences it keeps (real sleeps at 19200), so a
  ratio below 1 says the wire, not Railgate, would set the cycle on a line.
The PTY refuses parity (see docs/testing.md), so the line runs 8N1 and the
wire time is computed for 8E1. Every run is bounded in time."""

import argparse
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import build_modbus, device_stats, record, wait_path  # noqa: E402

BAUD = 19200
BITS_PER_CHAR = 11  # start + 8 data + parity + stop
SILENCE_CHARS = 3.5
REQUEST_OCTETS = 8  # unit, function, start, count, CRC
REPLY_OVERHEAD = 5  # unit, function, byte count, CRC
MAX_REGISTERS = 125


def tag_map(seed=2026):
    """64 tags in 8 groups (4 holding, 4 input), holes of 0-14 registers
    inside a group, groups hundreds of registers apart: (table, address,
    type, registers)."""
    rng = random.Random(seed)
    tags = []
    for table in ("holding-register", "input-register"):
        address = 0
        for _ in range(4):
            address += rng.randint(150, 400)
            for _ in range(8):
                kind, size = rng.choice([("uint16", 1), ("int32", 2), ("float32", 2)])
                tags.append((table, address, kind, size))
                address += size + rng.randint(0, 14)
    return tags


def transaction_chars(registers):
    return REQUEST_OCTETS + REPLY_OVERHEAD + 2 * registers + 2 * SILENCE_CHARS


def minimal_plan(tags):
    """The partition of each table's tags into contiguous requests (≤ 125
    registers) with the least wire time: (transactions, octets, chars)."""
    transactions = octets = chars = 0
    for table in sorted({t[0] for t in tags}):
        spans = sorted((a, a + n) for tb, a, _, n in tags if tb == table)
        best = [(0.0, 0, 0)]  # best[i]: (chars, transactions, octets) covering spans[:i]
        for i in range(1, len(spans) + 1):
            candidates = []
            for j in range(i):
                registers = max(end for _, end in spans[j:i]) - spans[j][0]
                if registers > MAX_REGISTERS:
                    continue
                c, t, o = best[j]
                candidates.append((c + transaction_chars(registers), t + 1,
                                   o + REQUEST_OCTETS + REPLY_OVERHEAD + 2 * registers))
            best.append(min(candidates))
        c, t, o = best[-1]
        chars, transactions, octets = chars + c, transactions + t, octets + o
    return transactions, octets, chars


def per_tag_plan(tags):
    chars = sum(transaction_chars(n) for *_, n in tags)
    octets = sum(REQUEST_OCTETS + REPLY_OVERHEAD + 2 * n for *_, n in tags)
    return len(tags), octets, chars


def wire_ms(chars):
    return chars * BITS_PER_CHAR / BAUD * 1000


class Server:
    """The C server on one end of the PTY pair; counts() asks it for its
    counters (SIGUSR1)."""

    def __init__(self, work, device, seconds):
        self.process = subprocess.Popen([work / "server", str(device), str(int(seconds))],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def counts(self):
        self.process.send_signal(signal.SIGUSR1)
        words = self.process.stdout.readline().split()
        return dict(zip(words[0::2], map(int, words[1::2])))


def idle_sample(server, sock, base):
    """Server counters and the device's stats taken together between two
    cycles (the stats count a cycle's requests when it ends): retried until
    both count the same requests (the server's since `base`)."""
    for _ in range(100):
        served = server.counts()
        stats = device_stats(sock)["slave1"]
        if served["requests"] - base == stats["requests"]:
            return served, stats
        time.sleep(0.05)
    raise SystemExit(f"could not sample the server between two cycles: {served} {base} {stats}")


def run_railgate(railgate, work, server, max_gap, tags, seconds):
    """Polls the map with `max_gap`; returns (transactions, octets, median
    PTY cycle ms, plan text) per cycle."""
    lines = "\n".join(f"          - {{name: t{i}, table: {table}, address: {address}, type: {kind}}}"
                      for i, (table, address, kind, _) in enumerate(tags))
    sock = work / f"control-{max_gap}.sock"
    config = work / f"rtu-{max_gap}.yaml"
    config.write_text(f"""gateway: {{id: bench, isa95: {{enterprise: bench}}}}
console: {{socket: {sock}, history_dir: {work}/history}}
south:
  - name: rtu
    protocol: modbus-rtu
    serial: {{device: {work}/gw, baud: {BAUD}, parity: N}}
    devices:
      - name: slave1
        unit: 1
        poll_ms: 400
        max_gap: {max_gap}
        tags:
{lines}
""")
    plan = subprocess.run([railgate, "check", "--config", config], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]
    base = server.counts()["requests"]
    gateway = subprocess.Popen([railgate, "run", "--config", config], stdout=subprocess.DEVNULL,
                               stderr=open(work / f"railgate-{max_gap}.log", "w"))
    try:
        wait_path(sock)
        time.sleep(1.0)  # first cycles done
        served0, stats0 = idle_sample(server, sock, base)
        samples, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(device_stats(sock)["slave1"]["last_cycle_us"])
            time.sleep(0.2)
        served1, stats1 = idle_sample(server, sock, base)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
    cycles = stats1["cycles"] - stats0["cycles"]
    if stats1["errors"] or cycles < 3:
        raise SystemExit(f"the RTU run failed: {stats1}\n{(work / f'railgate-{max_gap}.log').read_text()}")
    transactions = (served1["requests"] - served0["requests"]) / cycles
    octets = (served1["request_bytes"] + served1["reply_bytes"]
              - served0["request_bytes"] - served0["reply_bytes"]) / cycles
    return transactions, octets, statistics.median(samples) / 1000, plan


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    tags = tag_map()
    best_t, best_o, best_c = minimal_plan(tags)
    naive_t, naive_o, naive_c = per_tag_plan(tags)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="rg-rtu-bench-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={work}/gw", f"pty,raw,echo=0,link={work}/dev"],
                                 stderr=subprocess.DEVNULL)
        server = None
        try:
            wait_path(work / "gw")
            wait_path(work / "dev")
            server = Server(work, work / "dev", 4 * args.seconds + 120)
            for gap in (8, 9):
                runs[gap] = run_railgate(args.railgate, work, server, gap, tags, args.seconds)
        finally:
            for p in (server.process if server else None, socat):
                if p is not None and p.poll() is None:
                    p.kill()
    print(f"{len(tags)} tags on one slave, 19200 8E1 (wire time computed; the PTY runs 8N1)")
    print(f"{'plan':<32} {'transactions':>12} {'octets':>7} {'wire ms':>8} {'vs minimal':>10} {'PTY cycle ms':>12}")
    for gap, (transactions, octets, pty_ms, _) in runs.items():
        chars = octets + transactions * 2 * SILENCE_CHARS
        name = f"Railgate, max_gap {gap}" + (" (default)" if gap == 8 else "")
        print(f"{name:<32} {transactions:>12.1f} {octets:>7.0f} {wire_ms(chars):>8.1f} {chars / best_c:>10.2f} "
              f"{pty_ms:>12.1f}")
    print(f"{'minimal (computed)':<32} {best_t:>12} {best_o:>7} {wire_ms(best_c):>8.1f} {1.0:>10.2f}")
    print(f"{'one request per tag (computed)':<32} {naive_t:>12} {naive_o:>7} {wire_ms(naive_c):>8.1f} "
          f"{naive_c / best_c:>10.2f}")
    transactions, octets, pty_ms, _ = runs[8]
    chars = octets + transactions * 2 * SILENCE_CHARS
    silences = transactions * SILENCE_CHARS * BITS_PER_CHAR / BAUD * 1000
    print(f"PTY cycle vs wire time (default plan): {pty_ms:.1f} / {wire_ms(chars):.1f} ms = "
          f"{pty_ms / wire_ms(chars):.2f}; {silences:.1f} ms of the PTY cycle are the silences Railgate keeps "
          f"before its requests, {pty_ms - silences:.1f} ms its own time and the server's "
          f"({(pty_ms - silences) / transactions * 1000:.0f} µs per transaction)")
    figures = {"tags": len(tags), "minimal_transactions": best_t, "minimal_octets": best_o,
               "minimal_wire_ms": round(wire_ms(best_c), 2), "per_tag_transactions": naive_t,
               "per_tag_wire_ms": round(wire_ms(naive_c), 2)}
    for gap, (transactions, octets, pty_ms, _) in runs.items():
        chars = octets + transactions * 2 * SILENCE_CHARS
        figures[f"max_gap_{gap}"] = {"transactions": round(transactions, 2), "octets": round(octets),
                                     "wire_ms": round(wire_ms(chars), 2), "wire_vs_minimal": round(chars / best_c, 3),
                                     "pty_cycle_ms": round(pty_ms, 2),
                                     "pty_cycle_vs_wire": round(pty_ms / wire_ms(chars), 3)}
    record("modbus_rtu_cycle", **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
