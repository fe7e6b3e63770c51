#!/usr/bin/env python3
"""Write latency for scripts/bench: a north write → the Modbus write arriving at
the device, while Railgate polls 10 000 tags every second from the same device.

The device is the libmodbus C server of Benchmarks/modbus started with
"writes": it prints every register write with the CLOCK_REALTIME time it
arrived. Two writers, one after the other, each writing the values 1…N to one
writable holding register, one write at a time, 20 ms apart:
  - OPC UA: open62541's client (`ua-ref-read --write`, in the Debian 13 root of
    scripts/lib/open62541-root); Railgate answers the Write once the bus has
    done it, so the client's round trip is measured too;
  - MQTT Sparkplug B: a DCMD by metric name published with paho (QoS 0) to
    mosquitto; Railgate is the edge node.
Latency = the device saw the value − the writer sent it (one host, one clock).
Prints p50 / p99 / max per path against the goal p99 ≤ 10 ms. Bounded in time."""

import argparse
import importlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from benchlib import build_modbus, free_port, meter_config, percentile, record, stop, wait_port  # noqa: E402

TAGS = 10_000
WRITABLE = 20_000  # the written register, outside the polled ones
GROUP, NODE = "bench", "bench"  # NODE: meter_config's gateway id


class Device:
    """The C Modbus server; records when each written value arrived."""

    def __init__(self, binary, port):
        self.arrived = {}
        self.lock = threading.Lock()
        self.process = subprocess.Popen([binary, str(port), "600", "writes"], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            fields = line.split()
            if len(fields) == 4 and fields[0] == "write" and int(fields[1]) == WRITABLE:
                with self.lock:
                    self.arrived.setdefault(int(fields[2]), int(fields[3]))

    def wait(self, value, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if value in self.arrived:
                    return self.arrived[value]
            time.sleep(0.001)
        return None

    def reset(self):
        with self.lock:
            self.arrived.clear()


def config(modbus_port, ua_port, broker):
    return meter_config(modbus_port, TAGS, f"""opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, anonymous_role: operator}}
mqtt:
  host: 127.0.0.1
  port: {broker}
  format: sparkplug
  sparkplug: {{group_id: {GROUP}}}""", poll_ms=1000, writes=True,
                        extra_tags=[f"{{name: setpoint, table: holding-register, address: {WRITABLE}, writable: true}}"])


def summary(name, latencies_ms, lost):
    values = sorted(latencies_ms)
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    print(f"{name:<34} n={len(values):>4} lost={lost:>2}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
          f"max {values[-1] if values else float('nan'):6.2f} ms  (goal p99 <= 10 ms: {'met' if p99 <= 10 else 'NOT met'})")
    return {"n": len(values), "lost": lost, "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
            "max_ms": round(values[-1], 3) if values else None}


def opcua_writes(root, ua_port, device, count):
    device.reset()
    out = subprocess.run(["chroot", root, "/opt/railgate-bench/ua-ref-read", "--url", f"opc.tcp://127.0.0.1:{ua_port}",
                          "--write", "ns=1;s=bench/meter/setpoint", "--count", str(count), "--gap-ms", "20"],
                         capture_output=True, text=True, timeout=count + 60)
    to_device, round_trip, lost = [], [], 0
    for line in out.stdout.splitlines():
        fields = line.split()
        if len(fields) != 5 or fields[0] != "write":
            continue
        value, sent, done, status = int(fields[1]), int(fields[2]), int(fields[3]), int(fields[4])
        arrived = device.wait(value, timeout=2)
        if status != 0 or arrived is None:
            lost += 1
            continue
        to_device.append((arrived - sent) / 1e6)
        round_trip.append((done - sent) / 1e6)
    if len(to_device) + lost != count:
        raise SystemExit(f"ua-ref-read --write: {out.stdout[-500:]} {out.stderr[-500:]}")
    return to_device, round_trip, lost


def sparkplug_writes(broker, device, count, spb):
    device.reset()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-host-{time.monotonic_ns()}")
    client.connect("127.0.0.1", broker)
    client.loop_start()
    latencies, lost = [], 0
    try:
        for value in range(1, count + 1):
            payload = spb.Payload()
            payload.timestamp = int(time.time() * 1000)
            metric = payload.metrics.add()
            metric.name = "bench/meter/setpoint"
            metric.datatype = 6  # UInt16
            metric.int_value = value
            data = payload.SerializeToString()
            sent = time.time_ns()
            client.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/meter", data, qos=0)
            arrived = device.wait(value, timeout=2)
            if arrived is None:
                lost += 1
            else:
                latencies.append((arrived - sent) / 1e6)
            time.sleep(0.02)
    finally:
        client.loop_stop()
        client.disconnect()
    return latencies, lost


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--open62541-root", required=True, help="the root scripts/lib/open62541-root prints")
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-write-bench-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        subprocess.run(["protoc", f"--python_out={work}", f"-I{ROOT / 'proto'}", str(ROOT / "proto" / "sparkplug_b.proto")],
                       check=True)
        sys.path.insert(0, str(work))
        spb = importlib.import_module("sparkplug_b_pb2")
        procs = []
        try:
            modbus_port, ua_port, broker = free_port(), free_port(), free_port()
            (work / "mosquitto.conf").write_text(f"listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n")
            procs.append(subprocess.Popen(["mosquitto", "-c", str(work / "mosquitto.conf")],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            device = Device(work / "server", modbus_port)
            procs.append(device.process)
            wait_port(modbus_port)
            wait_port(broker)
            (work / "writes.yaml").write_text(config(modbus_port, ua_port, broker))
            gateway = subprocess.Popen([args.railgate, "run", "--config", work / "writes.yaml"],
                                       stdout=subprocess.DEVNULL, stderr=open(work / "railgate.log", "w"))
            procs.append(gateway)
            wait_port(ua_port, timeout=60)
            time.sleep(3)  # a few poll cycles of the 10 000 tags, the edge node born
            ua_device, ua_round_trip, ua_lost = opcua_writes(args.open62541_root, ua_port, device, args.count)
            sp_device, sp_lost = sparkplug_writes(broker, device, args.count, spb)
            if gateway.poll() is not None:
                raise SystemExit(f"railgate ended: {(work / 'railgate.log').read_text()[-2000:]}")
        finally:
            stop(procs)
    print(f"{TAGS} tags polled every 1 s from the same device; {args.count} writes per path, 20 ms apart")
    figures = {
        "opcua_write_to_device": summary("OPC UA Write -> Modbus write", ua_device, ua_lost),
        "opcua_write_round_trip": summary("OPC UA Write round trip (client)", ua_round_trip, ua_lost),
        "sparkplug_dcmd_to_device": summary("Sparkplug DCMD -> Modbus write", sp_device, sp_lost),
    }
    record("write_latency", tags=TAGS, **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
