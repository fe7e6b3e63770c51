#!/usr/bin/env python3
"""Modbus TCP transactions per second, side by side against one libmodbus
server (Benchmarks/modbus/server.c, built here): the reference C loop over
modbus_read_registers (client.c), pymodbus's client, and Railgate's bus
poller (four devices of 2000 registers read 10 at a time, so the bus thread
never waits for its poll period). Same request size everywhere: 10 holding
registers. Prints each rate and Railgate's ratio to the C loop (goal ≥ 0.95).
Every run is bounded in time."""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import build_modbus, device_stats, free_port, record  # noqa: E402


def serve(work, seconds):
    port = free_port()
    server = subprocess.Popen([work / "server", str(port), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    return port, server


def c_loop(work, seconds):
    port, server = serve(work, seconds + 5)
    try:
        out = subprocess.run([work / "client", str(port), str(seconds), "10"], capture_output=True, text=True,
                             timeout=seconds + 30, check=True).stdout.split()
        return float(out[0])
    finally:
        server.terminate()


def pymodbus_loop(work, seconds):
    from pymodbus.client import ModbusTcpClient
    port, server = serve(work, seconds + 5)
    try:
        client = ModbusTcpClient("127.0.0.1", port=port)
        assert client.connect()
        done, end = 0, time.monotonic() + seconds
        start = time.monotonic()
        while time.monotonic() < end:
            client.read_holding_registers(0, count=10, device_id=1)
            done += 1
        client.close()
        return done / (time.monotonic() - start)
    finally:
        server.terminate()


def requests(sock_path):
    return sum(device["requests"] for device in device_stats(sock_path).values())


def railgate_loop(railgate, work, seconds):
    port, server = serve(work, seconds + 30)
    devices = "\n".join(
        f"      - {{name: d{u}, unit: {u}, poll_ms: 10, max_gap: 0, max_registers: 10, tags: ["
        + ", ".join(f"{{name: r{a}, table: holding-register, address: {a}}}" for a in range(0, 2000))
        + "]}" for u in range(1, 5))
    sock_path = work / "control.sock"
    config = work / "throughput.yaml"
    config.write_text(f"""gateway: {{id: bench, isa95: {{enterprise: bench}}}}
console: {{socket: {sock_path}, history_dir: {work}/history}}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {port}
    devices:
{devices}
""")
    gateway = subprocess.Popen([railgate, "run", "--config", config], stdout=subprocess.DEVNULL,
                               stderr=open(work / "railgate.log", "w"))
    try:
        deadline = time.monotonic() + 30
        while not sock_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # connected, first cycles done
        first, t0 = requests(sock_path), time.monotonic()
        time.sleep(seconds)
        last, t1 = requests(sock_path), time.monotonic()
        return (last - first) / (t1 - t0)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
        server.terminate()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-mb-bench-") as tmp:
        work = Path(tmp)
        build_modbus(work)
        reference = c_loop(work, args.seconds)
        python = pymodbus_loop(work, args.seconds)
        railgate = railgate_loop(args.railgate, work, args.seconds)
    print(f"{'client':<34} {'transactions/s':>14} {'vs C loop':>10}")
    print(f"{'C loop (libmodbus)':<34} {reference:>14.0f} {1.0:>10.2f}")
    print(f"{'Railgate bus poller':<34} {railgate:>14.0f} {railgate / reference:>10.2f}  (goal >= 0.95)")
    print(f"{'pymodbus client':<34} {python:>14.0f} {python / reference:>10.2f}")
    record("modbus_tcp_throughput", c_loop_tps=round(reference), railgate_tps=round(railgate),
           pymodbus_tps=round(python), railgate_ratio=round(railgate / reference, 3),
           pymodbus_ratio=round(python / reference, 3), goal_ratio=0.95)
    return 0


if __name__ == "__main__":
    sys.exit(main())
