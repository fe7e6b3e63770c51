"""Sparkplug B edge node against mosquitto, payloads decoded with Python
protobuf generated at test time from the published sparkplug_b.proto."""

import importlib
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from pymodbus.client import ModbusTcpClient

from conftest import RAILGATE, ROOT, free_port, log_of, start_broker, start_railgate, start_sim_tcp, wait_for

PROTO = ROOT / "proto" / "sparkplug_b.proto"
GROUP, NODE = "line3", "gw-sp"


@pytest.fixture(scope="module")
def spb(tmp_path_factory):
    out = tmp_path_factory.mktemp("spb")
    subprocess.run(["protoc", f"--python_out={out}", f"-I{PROTO.parent}", str(PROTO)], check=True)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("sparkplug_b_pb2")
    finally:
        sys.path.remove(str(out))


class Host:
    """A Sparkplug host application stand-in: records every spBv1.0 message."""

    def __init__(self, port, spb):
        self.spb = spb
        self.messages = []
        self.unparsed = []  # (topic, first octets) of payloads that are not Sparkplug
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"host-{time.monotonic_ns()}")
        ready = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"spBv1.0/{GROUP}/#", qos=1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10)

    def _message(self, client, userdata, msg):
        payload = self.spb.Payload()
        try:
            payload.ParseFromString(msg.payload)
        except Exception:  # the garbage DCMD this test sends itself, or a payload Railgate got wrong
            with self.lock:
                self.unparsed.append((msg.topic, msg.payload[:32]))
            return
        with self.lock:
            self.messages.append((msg.topic.split("/")[2], msg.topic, payload))

    def of(self, kind):
        with self.lock:
            return [p for k, _, p in self.messages if k == kind]

    def wait(self, kind, predicate=lambda p: True, timeout=15):
        return wait_for(lambda: next((p for p in self.of(kind) if predicate(p)), None), timeout)

    def command(self, kind, metrics, device=None):
        payload = self.spb.Payload()
        payload.timestamp = int(time.time() * 1000)
        for name, alias, datatype, field, value in metrics:
            metric = payload.metrics.add()
            if name is not None:
                metric.name = name
            if alias is not None:
                metric.alias = alias
            metric.datatype = datatype
            setattr(metric, field, value)
        topic = f"spBv1.0/{GROUP}/{kind}/{NODE}" + (f"/{device}" if device else "")
        self.client.publish(topic, payload.SerializeToString(), qos=1)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def config(broker, sim_port):
    return f"""
gateway:
  id: {NODE}
  isa95: {{enterprise: acme, site: plant1, line: line3}}
  writes: true
mqtt:
  host: 127.0.0.1
  port: {broker}
  format: sparkplug
  sparkplug: {{group_id: {GROUP}}}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    timeout_ms: 300
    reconnect_min_ms: 100
    reconnect_max_ms: 300
    devices:
      - name: meter1
        unit: 1
        poll_ms: 100
        tags:
          - {{name: voltage, ref: 400001, type: float32, unit: V, range: [0, 400]}}
          - {{name: speed, ref: 400006, unit: r/min}}
          - {{name: temperature, ref: 400005, type: int16, scale: 0.1}}
          - {{name: serial, ref: 400021, type: string, length: 8}}
          - {{name: setpoint, ref: 400041, writable: true}}
"""


def metrics_by_name(payload):
    return {m.name: m for m in payload.metrics}


def test_birth_data_commands_and_death(procs, broker, spb):
    sim_port = start_sim_tcp(procs)
    sim = procs.started[-1]
    host = Host(broker, spb)
    try:
        proc = start_railgate(procs, config(broker, sim_port))
        nbirth = host.wait("NBIRTH")
        assert nbirth is not None, log_of(proc)
        assert nbirth.seq == 0
        node_metrics = metrics_by_name(nbirth)
        assert node_metrics["bdSeq"].long_value == 0 and node_metrics["bdSeq"].datatype == 8
        assert node_metrics["Node Control/Rebirth"].boolean_value is False
        dbirth = host.wait("DBIRTH")
        assert dbirth is not None, (host.unparsed, [t for _, t, _ in host.messages], log_of(proc))
        assert dbirth.seq == 1
        birth = metrics_by_name(dbirth)
        base = "acme/plant1/line3/meter1"
        voltage = birth[f"{base}/voltage"]
        assert voltage.datatype == 9 and voltage.float_value == 230.5
        props = dict(zip(voltage.properties.keys, voltage.properties.values))
        assert props["engUnit"].string_value == "V" and props["engHigh"].double_value == 400
        assert birth[f"{base}/speed"].datatype == 6 and birth[f"{base}/speed"].int_value == 1450
        assert birth[f"{base}/temperature"].datatype == 10 and birth[f"{base}/temperature"].double_value == -12.5
        assert birth[f"{base}/serial"].string_value == "RG-METER-01"
        aliases = {m.alias for m in dbirth.metrics}
        assert len(aliases) == 5

        # A register change arrives as DDATA by alias, seq continuing.
        modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
        assert modbus.connect()
        modbus.write_register(5, 1501, device_id=1)
        speed_alias = birth[f"{base}/speed"].alias
        ddata = host.wait("DDATA", lambda p: any(m.alias == speed_alias and m.int_value == 1501 for m in p.metrics))
        assert ddata is not None
        assert all(not m.name for m in ddata.metrics)
        seqs = [p.seq for p in host.of("DBIRTH") + host.of("DDATA")]
        assert seqs == list(range(1, len(seqs) + 1))

        # DCMD by alias writes the Modbus register; a non-writable tag is refused.
        host.command("DCMD", [(None, birth[f"{base}/setpoint"].alias, 6, "int_value", 733)], device="meter1")
        assert wait_for(lambda: modbus.read_holding_registers(40, count=1, device_id=1).registers[0] == 733, 10)
        host.command("DCMD", [(f"{base}/speed", None, 6, "int_value", 9)], device="meter1")
        assert wait_for(lambda: "Sparkplug DCMD write not done" in log_of(proc), 10), log_of(proc)
        assert modbus.read_holding_registers(5, count=1, device_id=1).registers[0] == 1501
        # Malformed and unknown commands are ignored with a log line.
        host.client.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/meter1", b"\xff\x00garbage", qos=1)
        host.command("DCMD", [(None, 999, 6, "int_value", 1)], device="meter1")
        host.command("DCMD", [(f"{base}/setpoint", None, 12, "string_value", "x")], device="meter1")
        assert wait_for(lambda: log_of(proc).count("Sparkplug command ignored") >= 3, 10), log_of(proc)
        modbus.close()

        # Rebirth on NCMD.
        host.command("NCMD", [("Node Control/Rebirth", None, 11, "boolean_value", True)])
        assert wait_for(lambda: len(host.of("NBIRTH")) == 2 and len(host.of("DBIRTH")) == 2, 10), [k for k, _, _ in host.messages]
        assert host.of("NBIRTH")[1].seq == 0 and host.of("DBIRTH")[1].seq == 1

        # The device stops answering: DDEATH; it comes back: DBIRTH.
        sim.kill()
        sim.wait()
        assert host.wait("DDEATH") is not None, log_of(proc)
        start_sim_tcp(procs, port=sim_port)
        assert wait_for(lambda: len(host.of("DBIRTH")) == 3, 20), log_of(proc)

        # Killed without a goodbye: the broker publishes the NDEATH will with the birth's bdSeq.
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ndeath = host.wait("NDEATH")
        assert ndeath is not None and metrics_by_name(ndeath)["bdSeq"].long_value == 0
        assert proc.returncode == -signal.SIGKILL
    finally:
        host.close()


def test_clean_stop_publishes_ndeath(procs, broker, spb):
    sim_port = start_sim_tcp(procs)
    host = Host(broker, spb)
    try:
        proc = start_railgate(procs, config(broker, sim_port).replace(NODE, "gw-sp2"))
        assert wait_for(lambda: [p for k, t, p in host.messages if k == "NBIRTH" and t.endswith("gw-sp2")], 15)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert wait_for(lambda: [p for k, t, p in host.messages if k == "NDEATH" and t.endswith("gw-sp2")], 10)
    finally:
        host.close()


def test_outage_is_replayed_as_historical_metrics(procs, tmp_path, spb):
    sim_port = start_sim_tcp(procs)
    port = free_port()
    first = start_broker(procs, port, "broker-a")
    yaml = config(port, sim_port).replace(NODE, "gw-hist").replace(
        "  format: sparkplug", "  format: sparkplug\n  qos: 1\n  reconnect_min_s: 2\n  reconnect_max_s: 2\n"
        f"  journal: {{dir: {tmp_path / 'journal'}, fsync: always}}")
    host = Host(port, spb)
    proc = start_railgate(procs, yaml)
    assert wait_for(lambda: [p for k, t, p in host.messages if k == "DBIRTH" and "gw-hist" in t], 15), log_of(proc)
    host.close()
    first.terminate()
    first.wait()
    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()
    for value in range(1900, 1906):
        modbus.write_register(5, value, device_id=1)
        time.sleep(0.25)
    modbus.close()
    start_broker(procs, port, "broker-b")
    host = Host(port, spb)
    try:
        def historical():
            return [m.int_value for k, t, p in host.messages if k == "DDATA" and "gw-hist" in t
                    for m in p.metrics if m.is_historical and m.int_value >= 1900]
        assert wait_for(lambda: 1905 in historical(), 30), (historical(), log_of(proc))
        assert historical() == list(range(1900, 1906))
        # Births come first, then the history.
        kinds = [k for k, t, _ in host.messages if "gw-hist" in t]
        assert kinds[0] == "NBIRTH" and kinds.index("DBIRTH") < kinds.index("DDATA")
    finally:
        host.close()


def test_waits_for_the_primary_host(procs, broker, spb):
    sim_port = start_sim_tcp(procs)
    host = Host(broker, spb)
    try:
        yaml = config(broker, sim_port).replace(NODE, "gw-state").replace(
            "sparkplug: {group_id: line3}", "sparkplug: {group_id: line3, primary_host_id: scada}")
        proc = start_railgate(procs, yaml)
        time.sleep(2)
        assert not [t for _, t, _ in host.messages if "gw-state" in t], "published before the primary host was online"
        # Sparkplug B 3.0 STATE: retained JSON from the primary host application.
        state = f'{{"online": true, "timestamp": {int(time.time() * 1000)}}}'
        host.client.publish("spBv1.0/STATE/scada", state.encode(), qos=1, retain=True)
        assert wait_for(lambda: [p for k, t, p in host.messages if k == "NBIRTH" and "gw-state" in t], 10), log_of(proc)
        host.client.publish("spBv1.0/STATE/scada", b'{"online": false, "timestamp": 1}', qos=1, retain=True)
    finally:
        host.client.publish("spBv1.0/STATE/scada", b"", qos=1, retain=True)
        host.close()


def test_a_flood_of_commands_is_bounded_and_polling_goes_on(procs, broker, spb):
    """A DCMD of 40 000 writes is refused whole (at most 1024 metrics in one); forty of 1000 writes
    fill the bus's write queue (1024) and the rest are refused at once; the writes' audit entries
    are fsync'd off the bus thread; 1000 unknown aliases are logged a few times; and the meter
    keeps being polled meanwhile."""
    sim_port = start_sim_tcp(procs)
    host = Host(broker, spb)
    try:
        text = config(broker, sim_port).replace("  writes: true", f"  writes: true\n  audit_file: {procs.tmp}/audit.log")
        proc = start_railgate(procs, text)
        dbirth = host.wait("DBIRTH")
        assert dbirth is not None, log_of(proc)
        base = "acme/plant1/line3/meter1"
        birth = metrics_by_name(dbirth)
        setpoint, speed = birth[f"{base}/setpoint"].alias, birth[f"{base}/speed"].alias
        flood_started = time.monotonic()
        host.command("DCMD", [(None, setpoint, 6, "int_value", n % 1000) for n in range(40_000)], device="meter1")
        assert wait_for(lambda: "a command of 40000 metrics; at most 1024 are taken in one" in log_of(proc), 10)
        for batch in range(40):
            host.command("DCMD", [(None, setpoint, 6, "int_value", n % 1000) for n in range(1000)], device="meter1")
        host.command("DCMD", [(None, 100_000 + n, 6, "int_value", 1) for n in range(1000)], device="meter1")
        # Meanwhile the meter's speed changes every 200 ms: its changes keep arriving.
        modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
        assert modbus.connect()
        written = list(range(3000, 3020))
        for value in written:
            modbus.write_register(5, value, device_id=1)
            time.sleep(0.2)
        modbus.close()
        seen = lambda: {m.int_value for p in host.of("DDATA") for m in p.metrics if m.alias == speed}
        assert wait_for(lambda: written[-1] in seen(), 15), log_of(proc)[-2000:]
        assert len(seen() & set(written)) >= 10, sorted(seen() & set(written))
        log = log_of(proc)
        assert log.count("Sparkplug command ignored") <= 12, log.count("Sparkplug command ignored")
        assert log.count("Sparkplug DCMD write not done") <= 12, log.count("Sparkplug DCMD write not done")
        assert "writes are waiting for this bus already" in log
        assert proc.poll() is None
        # Every write taken or refused is in the trail, and the trail is whole.
        trail = procs.tmp / "audit.log"
        writes = lambda: trail.read_text().count('"event":"write"')
        assert wait_for(lambda: writes() == 40_000, 60), writes()
        # The log has 100 write lines per 10 s at most (the next line after a pause says how many it
        # left out); the trail has every write.
        write_lines = [line for line in log_of(proc).splitlines() if "railgate.audit:" in line and line.endswith(" write")]
        assert 0 < len(write_lines) <= 100 * (1 + (time.monotonic() - flood_started) // 10), len(write_lines)
        verify = subprocess.run([RAILGATE, "audit", "verify", "--file", trail], capture_output=True, text=True, timeout=60)
        assert verify.returncode == 0, verify.stderr
    finally:
        host.close()
