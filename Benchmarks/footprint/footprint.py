#!/usr/bin/env python3
"""Footprint and scaling for scripts/bench: Railgate (release build, static
Swift stdlib) with 100, 1 000 and 10 000 Modbus tags polled from the libmodbus
C server of Benchmarks/modbus, publishing to mosquitto and serving OPC UA.

Per size: resident memory (VmRSS, split into file-backed pages — the binary
and its libraries — and anonymous memory — heap, stacks) after 3 s of steady
state, CPU share over the next 5 s (every thread's time on CPU from /proc), resident
memory again while an OPC UA client (asyncua) is connected, having read 100 tags ten
times and browsed (a SCADA system stays connected) — and start-up
to the first MQTT message (process start → first publication seen by a paho
subscriber). Goals from the product card: RSS ≤ 12 MB at 1 000 tags / 100 ms,
≤ 20 MB at 10 000 tags / 1 s; start-up ≤ 200 ms. The scaling table gives each
size's RSS and CPU as a multiple of the 100-tag figures. Every run is bounded
in time.

What dominates RSS: at 1000 tags the file-backed pages (the code serving an
OPC UA client, the standard library's above all, and the shared C libraries);
at 10 000 tags the heap: the tag descriptions, sample rings and read plans
(docs/benchmarks.md)."""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import build_modbus, cpu_seconds, free_port, record, wait_port  # noqa: E402

def memory_kib(pid):
    """VmRSS, RssFile and RssAnon of `pid`, KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssFile", "RssAnon"):
            fields[name] = int(value.split()[0])
    return fields


async def ua_session(port, tags, pid):
    """Railgate's memory while a SCADA client is connected: it has read and browsed."""
    from asyncua import Client
    async with Client(f"opc.tcp://127.0.0.1:{port}", timeout=30) as client:
        nodes = [client.get_node(f"ns=1;s=bench/d1/r{i}") for i in range(min(100, tags))]
        for _ in range(10):
            await client.read_values(nodes)
        await client.nodes.objects.get_children()
        await asyncio.sleep(1)
        return memory_kib(pid)


def config(tags, poll_ms, modbus_port, mqtt_port, ua_port):
    devices = []
    left, unit = tags, 1
    while left > 0:
        count = min(2000, left)
        devices.append(f"      - {{name: d{unit}, unit: {unit}, poll_ms: {poll_ms}, tags: ["
                       + ", ".join(f"{{name: r{a}, table: holding-register, address: {a}}}" for a in range(count))
                       + "]}")
        left -= count
        unit += 1
    return f"""schema: 2
gateway: {{id: bench, isa95: {{enterprise: bench}}}}
mqtt: {{host: 127.0.0.1, port: {mqtt_port}, qos: 0, retain: false, topic_prefix: fp}}
opcua: {{host: 127.0.0.1, port: {ua_port}}}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {modbus_port}
    devices:
""" + "\n".join(devices) + "\n"


def measure(railgate, work, tags, poll_ms, mqtt_port, server_bin):
    modbus_port, ua_port = free_port(), free_port()
    server = subprocess.Popen([server_bin, str(modbus_port), "60"], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    first = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fp-{tags}")
    client.on_message = lambda c, u, m: first.set()
    subscribed = threading.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("fp/#", qos=0)
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    assert subscribed.wait(10)
    path = work / f"fp{tags}.yaml"
    path.write_text(config(tags, poll_ms, modbus_port, mqtt_port, ua_port))
    started = time.monotonic()
    proc = subprocess.Popen([railgate, "run", "--config", path], stdout=subprocess.DEVNULL,
                            stderr=open(work / f"fp{tags}.log", "w"))
    try:
        first.wait(20)
        startup_ms = (time.monotonic() - started) * 1000 if first.is_set() else float("nan")
        time.sleep(3)  # steady state
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(5)
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        memory = memory_kib(proc.pid)
        served = asyncio.run(asyncio.wait_for(ua_session(ua_port, tags, proc.pid), 120))
        return {"rss_mib": memory["VmRSS"] / 1024, "file_mib": memory["RssFile"] / 1024,
                "anon_mib": memory["RssAnon"] / 1024, "cpu": (cpu1 - cpu0) / (t1 - t0) * 100,
                "startup_ms": startup_ms, "served_rss_mib": served["VmRSS"] / 1024,
                "served_file_mib": served["RssFile"] / 1024, "served_anon_mib": served["RssAnon"] / 1024}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        server.terminate()
        client.loop_stop()
        client.disconnect()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-footprint-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        mqtt_port = free_port()
        (work / "mosquitto.conf").write_text(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        broker = subprocess.Popen(["mosquitto", "-c", work / "mosquitto.conf"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        wait_port(mqtt_port)
        try:
            print(f"{'tags':>6} {'poll':>7} {'RSS MiB':>8} {'file':>6} {'anon':>6} {'OPC UA client: RSS':>18}"
                  f" {'file':>6} {'anon':>6} {'CPU %':>6} {'start-up ms':>12}  vs goal (RSS with the client)")
            results = {}
            for tags, poll_ms, rss_goal in [(100, 100, None), (1000, 100, 12), (10000, 1000, 20)]:
                r = measure(args.railgate, work, tags, poll_ms, mqtt_port, work / "server")
                results[tags] = r
                goal = ""
                if rss_goal:
                    rss_mb = r["served_rss_mib"] * 1.048576
                    goal = f"RSS {rss_mb:.1f} MB = {rss_mb / rss_goal:.2f}x the {rss_goal} MB goal"
                    if tags == 1000:
                        goal += f"; start-up {r['startup_ms'] / 200:.2f}x the 200 ms goal"
                print(f"{tags:>6} {poll_ms:>5}ms {r['rss_mib']:>8.1f} {r['file_mib']:>6.1f} {r['anon_mib']:>6.1f} "
                      f"{r['served_rss_mib']:>18.1f} {r['served_file_mib']:>6.1f} {r['served_anon_mib']:>6.1f} "
                      f"{r['cpu']:>6.2f} {r['startup_ms']:>12.0f}  {goal}")
            base = results[100]
            print("scaling (vs 100 tags):  " + "   ".join(
                f"{tags} tags: RSS {r['rss_mib'] / base['rss_mib']:.2f}x, anon {r['anon_mib'] / base['anon_mib']:.2f}x, "
                f"CPU {r['cpu'] / base['cpu']:.2f}x" for tags, r in results.items() if tags != 100))
            record("footprint", **{f"tags_{tags}": {k: round(v, 2) for k, v in r.items()}
                                   for tags, r in results.items()},
                   goals={"rss_mb_1000": 12, "rss_mb_10000": 20, "startup_ms": 200})
        finally:
            broker.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
