#!/usr/bin/env python3
"""Allocations per published MQTT message, for scripts/bench: Railgate polls 1000
Modbus tags every 100 ms from the libmodbus C server ("changing": each read
changes one register, ≈ 80 changes/s) and publishes them as JSON (one message
per change) and as Sparkplug B (one DDATA per device and turn). `perf stat`
counts calls of glibc's malloc through a uprobe, per thread, over 5 s; the
publishing thread (`rg-mqtt`) and libmosquitto's network thread (`mosquitto`)
are reported per message seen by a paho subscriber. mosquitto_publish itself
allocates its message and packet on the calling thread: those are the
publishing thread's floor. Needs root and perf with uprobes; says so and
records nothing otherwise. Bounded in time."""

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchlib import build_modbus, free_port, meter_config, record, stop, wait_port  # noqa: E402

SECONDS = 5


def malloc_probe():
    """The perf event of glibc's malloc, added once; None when perf cannot probe."""
    if not shutil.which("perf"):
        return None
    libc = next((p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6") if Path(p).exists()),
                None)
    if libc is None:
        return None
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout
    if "probe_libc:malloc " not in listed:
        added = subprocess.run(["perf", "probe", "-x", libc, "malloc"], capture_output=True, text=True)
        if added.returncode:
            return None
    return "probe_libc:malloc"


def thread_names(pid):
    return {int(task.name): (task / "comm").read_text().strip() for task in Path(f"/proc/{pid}/task").iterdir()}


def measure(railgate, work, modbus_port, fmt, event):
    broker = free_port()
    (work / f"mosquitto-{fmt}.conf").write_text(f"listener {broker} 127.0.0.1\nallow_anonymous true\n"
                                                "persistence false\nset_tcp_nodelay true\n")
    mosquitto = subprocess.Popen(["mosquitto", "-c", str(work / f"mosquitto-{fmt}.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    extra = "\n  format: sparkplug\n  sparkplug: {group_id: bench}" if fmt == "sparkplug" else ""
    (work / f"{fmt}.yaml").write_text(meter_config(modbus_port, 1000, f"mqtt:\n  host: 127.0.0.1\n  port: {broker}{extra}"))
    gateway = None
    try:
        wait_port(broker)
        gateway = subprocess.Popen([railgate, "run", "--config", work / f"{fmt}.yaml"],
                                   stdout=subprocess.DEVNULL, stderr=open(work / f"{fmt}.log", "w"))
        count = [0]
        lock = threading.Lock()

        def on_message(client, userdata, message):
            with lock:
                count[0] += 1

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"count-{fmt}-{time.monotonic_ns()}")
        client.on_message = on_message
        client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", qos=0)
        client.connect("127.0.0.1", broker)
        client.loop_start()
        time.sleep(3)  # connected, born, first values sent
        names = thread_names(gateway.pid)
        with lock:
            before = count[0]
        stat = subprocess.run(["perf", "stat", "-e", event, "--per-thread", "-x,", "-p", str(gateway.pid),
                               "sleep", str(SECONDS)], capture_output=True, text=True, timeout=SECONDS + 30).stderr
        with lock:
            messages = count[0] - before
        client.loop_stop()
        client.disconnect()
        mallocs = {}
        for line in stat.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and event in line and fields[1].strip().isdigit():
                name = names.get(int(fields[0].rsplit("-", 1)[-1]), fields[0])
                mallocs[name] = mallocs.get(name, 0) + int(fields[1])
        return messages, mallocs
    finally:
        stop([p for p in (gateway, mosquitto) if p])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    args = parser.parse_args()
    event = malloc_probe()
    if event is None:
        print("perf cannot probe glibc's malloc here (needs root and uprobes): no figures")
        return 0
    with tempfile.TemporaryDirectory(prefix="rg-north-alloc-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        modbus_port = free_port()
        server = subprocess.Popen([work / "server", str(modbus_port), "300", "changing"], stdout=subprocess.DEVNULL)
        try:
            wait_port(modbus_port)
            figures = {}
            for fmt in ("json", "sparkplug"):
                messages, mallocs = measure(args.railgate, work, modbus_port, fmt, event)
                per = {name: round(count / max(messages, 1), 2) for name, count in mallocs.items()}
                others = ", ".join(f"{name} {count}" for name, count in sorted(mallocs.items())
                                   if name not in ("rg-mqtt", "mosquitto loop"))
                print(f"{fmt:<9} {messages:>4} messages in {SECONDS} s: mallocs per message — publishing thread "
                      f"{per.get('rg-mqtt', 0):.2f}, libmosquitto's thread {per.get('mosquitto loop', 0):.2f}; "
                      f"in all {SECONDS} s: {others}")
                figures[fmt] = {"messages": messages, "per_message": per}
        finally:
            stop([server])
    record("north_allocations", **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
