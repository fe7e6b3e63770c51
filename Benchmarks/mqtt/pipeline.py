#!/usr/bin/env python3
"""MQTT pipeline figures for scripts/bench, against real peers on loopback:
the pymodbus simulator, mosquitto and a paho subscriber.

1. Latency: register written at the simulator → JSON message received, p50/p99
   (poll period 10 ms, so what exceeds ~10 ms is the pipeline's own cost).
2. Sustained rate: 100 tags changing as fast as the simulator takes writes.
3. Journal: changes kept during a broker outage, then the replay rate.
Every loop is bounded in count and time."""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from pymodbus.client import ModbusTcpClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import free_port, wait_port  # noqa: E402


class Subscriber:
    def __init__(self, port, topic):
        self.lock = threading.Lock()
        self.arrivals = []  # (monotonic, topic, payload bytes)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{time.monotonic_ns()}")
        ready = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = lambda c, u, m: self._add(m)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        ready.wait(10)

    def _add(self, message):
        with self.lock:
            self.arrivals.append((time.monotonic(), message.topic, message.payload))

    def count(self):
        with self.lock:
            return len(self.arrivals)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    procs = []

    def start(cmd, name):
        procs.append(subprocess.Popen(cmd, stdout=open(work / f"{name}.log", "w"), stderr=subprocess.STDOUT))
        return procs[-1]

    try:
        sim, broker = free_port(), free_port()
        start([sys.executable, str(ROOT / "scripts/sim/modbus_sim.py"), "--tcp", str(sim)], "sim")
        (work / "mosquitto.conf").write_text(f"listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        mosquitto = start(["mosquitto", "-c", str(work / "mosquitto.conf")], "mosquitto")
        wait_port(sim)
        wait_port(broker)
        tags = "\n".join(f"          - {{name: t{i}, table: holding-register, address: {i}}}" for i in range(100))
        (work / "railgate.yaml").write_text(f"""
gateway: {{id: bench, isa95: {{enterprise: bench}}}}
mqtt: {{host: 127.0.0.1, port: {broker}, qos: 1, retain: false, topic_prefix: bench, reconnect_min_s: 1,
        reconnect_max_s: 1, journal: {{dir: {work / 'journal'}, fsync: interval}}}}
south:
  - name: bus
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim}
    devices:
      - name: dev
        unit: 1
        poll_ms: 10
        tags:
{tags}
""")
        start([args.railgate, "run", "--config", str(work / "railgate.yaml")], "railgate")
        modbus = ModbusTcpClient("127.0.0.1", port=sim)
        assert modbus.connect()

        # 1. Latency.
        sub = Subscriber(broker, "bench/#")
        time.sleep(2)
        latencies = []
        for i in range(100):
            value = 20000 + i
            expected = f'"value":{value},'.encode()
            seen = sub.count()
            t0 = time.monotonic()
            modbus.write_register(10, value, device_id=1)
            deadline = t0 + 2
            arrival = None
            while time.monotonic() < deadline and arrival is None:
                with sub.lock:
                    arrival = next((t for t, topic, p in sub.arrivals[seen:] if topic.endswith("/t10") and expected in p), None)
                time.sleep(0.0005)
            if arrival is not None:
                latencies.append((arrival - t0) * 1000)
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(f"latency register write -> MQTT message (poll 10 ms, {len(latencies)} samples): "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")

        # 2. Sustained rate: all 100 registers rewritten with new values, 5 s.
        start_count = sub.count()
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < 5:
            n += 1
            modbus.write_registers(0, [(n * 7 + i) % 65536 for i in range(100)], device_id=1)
        time.sleep(1)
        elapsed = time.monotonic() - started
        received = sub.count() - start_count
        print(f"sustained: {received} messages in {elapsed:.1f} s = {received / elapsed:.0f} msg/s "
              f"({n} simulator writes of 100 registers)")
        sub.close()

        # 3. Journal: broker down for 5 s of changes, then replay.
        mosquitto.terminate()
        mosquitto.wait()
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < 5:
            n += 1
            modbus.write_registers(0, [(n * 13 + i) % 65536 for i in range(100)], device_id=1)
        time.sleep(0.5)
        journal_bytes = sum(p.stat().st_size for p in (work / "journal").glob("segment-*.rgj"))
        mosquitto = start(["mosquitto", "-c", str(work / "mosquitto.conf")], "mosquitto2")
        wait_port(broker)
        sub = Subscriber(broker, "bench/#")
        t0 = time.monotonic()
        last, last_change = 0, time.monotonic()
        while time.monotonic() - t0 < 120:
            count = sub.count()
            if count != last:
                last, last_change = count, time.monotonic()
            elif count > 0 and time.monotonic() - last_change > 2:
                break
            time.sleep(0.05)
        replay_time = last_change - t0
        print(f"journal: {journal_bytes / 1024:.0f} KiB kept during a 5 s outage; {last} messages replayed in "
              f"{replay_time:.1f} s = {last / max(replay_time, 0.001):.0f} msg/s (includes reconnect delay)")
        sub.close()
        modbus.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
