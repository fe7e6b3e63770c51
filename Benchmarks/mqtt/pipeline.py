#!/usr/bin/env python3
"""MQTT and OPC UA pipeline figures for scripts/bench, against real peers on
loopback: the pymodbus simulator, mosquitto, a paho subscriber and an asyncua
client.

1. Latency: register written at the simulator → JSON message at the MQTT
   subscriber, and → data-change notification at the asyncua client (one
   subscription, publishing interval 50 ms, the server's shortest), p50/p99.
   A change waits up to one poll period (10 ms) to be read, and for OPC UA
   up to one publishing interval more to be published: the figures are also
   given as what exceeds that, the pipeline's own cost.
2. Sustained rate: 100 tags changing as fast as the simulator takes writes.
3. Journal: changes kept during a broker outage, then the replay rate.
Every loop is bounded in count and time."""

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from asyncua.sync import Client as UAClient
from pymodbus.client import ModbusTcpClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import free_port, percentile, record, wait_port  # noqa: E402

POLL_MS = 10
PUBLISHING_MS = 50


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


class DataChanges:
    """asyncua subscription handler: (monotonic arrival, value) per notification."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals = []

    def datachange_notification(self, node, value, data):
        with self.lock:
            self.arrivals.append((time.monotonic(), value))

    def first(self, since, value):
        with self.lock:
            return next((t for t, v in self.arrivals[since:] if v == value), None)

    def count(self):
        with self.lock:
            return len(self.arrivals)


def summary(name, latencies, floor_ms):
    latencies.sort()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"latency register write -> {name} ({len(latencies)} samples): p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
          f"beyond {floor_ms} ms of polling and publishing: p50 {p50 - floor_ms:+.1f} ms, p99 {p99 - floor_ms:+.1f} ms "
          f"(p99 = {p99 / floor_ms:.2f}x that)")
    return {"samples": len(latencies), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "floor_ms": floor_ms,
            "p99_vs_floor": round(p99 / floor_ms, 3)}


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
        sim, broker, ua_port = free_port(), free_port(), free_port()
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
opcua: {{host: 127.0.0.1, port: {ua_port}}}
south:
  - name: bus
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim}
    devices:
      - name: dev
        unit: 1
        poll_ms: {POLL_MS}
        tags:
{tags}
""")
        start([args.railgate, "run", "--config", str(work / "railgate.yaml")], "railgate")
        modbus = ModbusTcpClient("127.0.0.1", port=sim)
        assert modbus.connect()

        # 1. Latency.
        sub = Subscriber(broker, "bench/#")
        wait_port(ua_port)
        ua = UAClient(f"opc.tcp://127.0.0.1:{ua_port}")
        ua.connect()
        changes = DataChanges()
        subscription = ua.create_subscription(PUBLISHING_MS, changes)
        subscription.subscribe_data_change(ua.get_node("ns=1;s=bench/dev/t10"), queuesize=10)
        time.sleep(2)
        mqtt_latencies, ua_latencies = [], []
        for i in range(100):
            value = 20000 + i
            expected = f'"value":{value},'.encode()
            seen, ua_seen = sub.count(), changes.count()
            t0 = time.monotonic()
            modbus.write_register(10, value, device_id=1)
            deadline = t0 + 2
            arrival = ua_arrival = None
            while time.monotonic() < deadline and (arrival is None or ua_arrival is None):
                with sub.lock:
                    arrival = next((t for t, topic, p in sub.arrivals[seen:] if topic.endswith("/t10") and expected in p), None)
                ua_arrival = changes.first(ua_seen, value)
                time.sleep(0.0005)
            if arrival is not None:
                mqtt_latencies.append((arrival - t0) * 1000)
            if ua_arrival is not None:
                ua_latencies.append((ua_arrival - t0) * 1000)
            time.sleep(0.003 * (i % 7))  # spread the writes over the poll and publishing phases
        subscription.delete()
        ua.disconnect()
        latency = {"mqtt": summary("MQTT message", mqtt_latencies, POLL_MS),
                   "opcua": summary("OPC UA data change", ua_latencies, POLL_MS + PUBLISHING_MS)}

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
        sustained = {"messages": received, "seconds": round(elapsed, 2), "msg_per_s": round(received / elapsed)}
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
        record("pipeline", latency=latency, sustained=sustained,
               journal={"kib": round(journal_bytes / 1024), "replayed": last, "replay_s": round(replay_time, 2),
                        "replay_msg_per_s": round(last / max(replay_time, 0.001))})
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
