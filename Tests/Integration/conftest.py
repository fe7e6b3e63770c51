"""Shared fixtures for Railgate's integration tests against real peers:
the pymodbus simulator, socat PTY pairs, the mosquitto broker, mbpoll.
Everything listens on 127.0.0.1 and ends with the test session."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "scripts" / "sim" / "modbus_sim.py"
BAD_CRC = ROOT / "scripts" / "sim" / "rtu_bad_crc.py"
RAILGATE = Path(os.environ.get("RAILGATE_BIN", ROOT / ".build" / "debug" / "railgate"))
# Bounds on waiting are multiplied by this where the binary runs slower than natively (the arm64
# binary under qemu-user: scripts/test sets 4). What is waited for stays the same.
TIME_SCALE = float(os.environ.get("RAILGATE_TEST_TIME_SCALE", "1"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=15.0, interval=0.05):
    """Polls `predicate` until it returns a truthy value or `timeout` (× TIME_SCALE) passes."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def wait_for_port(port, timeout=20.0):
    def accepting():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    assert wait_for(accepting, timeout), f"nothing listens on 127.0.0.1:{port}"


class Processes:
    """Starts processes and ends every one of them at teardown."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.started = []

    def start(self, args, name, env=None):
        log = open(self.tmp / f"{name}.log", "w")
        proc = subprocess.Popen([str(a) for a in args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **(env or {})})
        proc.log_path = self.tmp / f"{name}.log"
        self.started.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def procs(tmp_path):
    p = Processes(tmp_path)
    yield p
    p.stop_all()


@pytest.fixture(scope="session")
def session_procs(tmp_path_factory):
    p = Processes(tmp_path_factory.mktemp("session"))
    yield p
    p.stop_all()


def start_broker(procs, port, name="mosquitto"):
    """A mosquitto broker (no persistence) on a loopback port; returns its process."""
    conf = procs.tmp / f"{name}.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = procs.start(["mosquitto", "-c", conf], name)
    wait_for_port(port)
    return broker


@pytest.fixture(scope="session")
def broker(session_procs):
    """A mosquitto broker on a free loopback port, shared by the session."""
    port = free_port()
    start_broker(session_procs, port)
    return port


def start_sim_tcp(procs, units="1,2", port=None):
    port = port or free_port()
    procs.start([sys.executable, SIM, "--tcp", port, "--units", units], f"sim-tcp-{port}")
    wait_for_port(port)
    return port


@pytest.fixture
def sim_tcp(procs):
    """A fresh pymodbus TCP simulator (units 1 and 2) for one test."""
    return start_sim_tcp(procs)


def pty_pair(procs, name):
    """A socat PTY pair; returns the two link paths once both exist."""
    a, b = procs.tmp / f"{name}-a", procs.tmp / f"{name}-b"
    procs.start(["socat", "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"], f"socat-{name}")
    assert wait_for(lambda: a.exists() and b.exists(), 10), "socat did not create the PTY pair"
    return a, b


class Collector:
    """Subscribes to topics and keeps every message, decoded as JSON when it is."""

    def __init__(self, port, topic):
        self.messages = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"collector-{time.monotonic_ns()}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "could not subscribe"

    def _on_message(self, client, userdata, msg):
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            payload = msg.payload.decode(errors="replace")
        with self.lock:
            self.messages.append((msg.topic, payload, msg.retain))

    def all(self, topic):
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def latest(self, topic):
        values = self.all(topic)
        return values[-1] if values else None

    def wait(self, topic, predicate=lambda p: True, timeout=15.0):
        """The first message on `topic` (arrived or arriving) that satisfies `predicate`."""
        def found():
            for payload in self.all(topic):
                if predicate(payload):
                    return payload
            return None
        return wait_for(found, timeout)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def collector_factory(broker):
    made = []

    def make(topic):
        c = Collector(broker, topic)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def start_railgate(procs, config_text, name="railgate", args=(), env=None):
    """Writes the configuration and starts `railgate run` on it."""
    assert RAILGATE.exists(), f"{RAILGATE} is missing: build with swift build first"
    config = procs.tmp / f"{name}.yaml"
    config.write_text(config_text)
    proc = procs.start([RAILGATE, "run", "--config", config, *args], name, env=env)
    proc.config_path = config
    return proc


def read_audit(path):
    """The entries of an audit trail file, decoded."""
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def log_of(proc):
    return Path(proc.log_path).read_text()


def stop_gracefully(proc, sig=signal.SIGTERM, timeout=15):
    proc.send_signal(sig)
    return proc.wait(timeout=timeout * TIME_SCALE)


def gateway_yaml(prefix, broker_port, buses):
    """A configuration with gateway `prefix` (also the topic prefix), the
    ISA-95 enterprise `acme`, the given broker and bus entries."""
    return f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt: {{host: 127.0.0.1, port: {broker_port}, topic_prefix: {prefix}}}
south:
{buses}"""


def tcp_bus_yaml(name, port, device, extra="", tags=("{name: speed, ref: 400006}",)):
    """A modbus-tcp bus entry with one device (unit 1, 100 ms) and its tags (a `speed` tag)."""
    lines = [f"  - name: {name}", "    protocol: modbus-tcp", "    host: 127.0.0.1", f"    port: {port}"]
    lines += [f"    {line}" for line in extra.splitlines() if line.strip()]
    lines += ["    devices:", f"      - {{name: {device}, unit: 1, poll_ms: 100, tags: [{', '.join(tags)}]}}"]
    return "\n".join(lines) + "\n"


def pytest_configure(config):
    config.addinivalue_line("markers", "gateway(**options): options for the test's gateway configuration")


class EventHandler:
    """An OPC UA subscription handler (asyncua) that keeps every event it is given."""

    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


async def events_until(handler, predicate, timeout=10, since=0):
    """The events `handler` has (or gets within `timeout` s) that satisfy `predicate`, counting from
    its `since`-th event (what arrived before an action is not its answer); [] if none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in handler.events[since:] if predicate(e)]
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


def console_lines(socket, *lines):
    """Runs `railgate console` on a control socket with these input lines; its output."""
    result = subprocess.run([RAILGATE, "console", "--socket", socket], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr

