"""Modbus TCP (pymodbus) → Railgate → MQTT (mosquitto), end to end."""

import struct
import subprocess

import pytest
from pymodbus.client import ModbusTcpClient

from conftest import log_of, start_railgate, stop_gracefully, wait_for

PATH = "acme/plant1/line3"


def config(broker, sim_port, gw_id, prefix):
    return f"""
gateway:
  id: {gw_id}
  isa95: {{enterprise: acme, site: plant1, line: line3}}
mqtt:
  host: 127.0.0.1
  port: {broker}
  qos: 1
  topic_prefix: {prefix}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    timeout_ms: 500
    devices:
      - name: meter1
        unit: 1
        poll_ms: 100
        tags:
          - {{name: voltage, ref: 400001, type: float32, unit: V, deadband: 0.5}}
          - {{name: current, ref: 400003, type: float32, order: CDAB, unit: A}}
          - {{name: temperature, ref: 400005, type: int16, scale: 0.1, unit: Cel}}
          - {{name: speed, ref: 400006, unit: rpm}}
          - {{name: counter, ref: 400007, type: uint32}}
          - {{name: energy, ref: 400009, type: int64}}
          - {{name: running, ref: 400017, type: bool, bit: 0}}
          - {{name: serial, ref: 400021, type: string, length: 8}}
          - {{name: frequency, ref: 300002, type: float32, unit: Hz}}
          - {{name: lamp, ref: "00001"}}
      - name: meter2
        unit: 2
        poll_ms: 100
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
"""


def float_words(value):
    raw = struct.pack(">f", value)
    return [int.from_bytes(raw[0:2], "big"), int.from_bytes(raw[2:4], "big")]


@pytest.fixture
def gateway(procs, broker, sim_tcp, collector_factory, request):
    # A topic prefix per test: the broker keeps retained values between tests.
    gw_id = f"gw-{request.node.name[-20:].replace('_', '-')}"
    prefix = f"rgtest-{request.node.name[5:25]}"
    collector = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, config(broker, sim_tcp, gw_id, prefix))
    collector.gw_id = gw_id
    collector.prefix = prefix
    return proc, collector, sim_tcp


def test_normalized_values_arrive_as_json(gateway):
    proc, mqtt, _ = gateway
    voltage = mqtt.wait(f"{mqtt.prefix}/{PATH}/meter1/voltage")
    assert voltage is not None, log_of(proc)
    assert voltage["value"] == 230.5 and voltage["quality"] == "good" and voltage["unit"] == "V"
    assert isinstance(voltage["ts"], int) and voltage["ts"] > 1_600_000_000_000
    expected = {
        "current": 12.25, "temperature": -12.5, "speed": 1450, "counter": 123456789,
        "energy": -9876543210, "running": True, "serial": "RG-METER-01", "frequency": 50, "lamp": True,
    }
    for name, value in expected.items():
        payload = mqtt.wait(f"{mqtt.prefix}/{PATH}/meter1/{name}")
        assert payload is not None, f"no message for {name}"
        assert payload["value"] == value, name
    assert mqtt.wait(f"{mqtt.prefix}/{PATH}/meter2/speed")["value"] == 1451
    assert mqtt.wait(f"{mqtt.prefix}/status/{mqtt.gw_id}", lambda p: p == "online")


def test_register_changes_are_published_and_deadband_filters(gateway):
    proc, mqtt, sim_port = gateway
    topic = f"{mqtt.prefix}/{PATH}/meter1/voltage"
    assert mqtt.wait(topic) is not None, log_of(proc)
    client = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert client.connect()
    try:
        # Within the 0.5 V deadband of 230.5: not published.
        client.write_registers(0, float_words(230.8), device_id=1)
        # Another tag on the same device changes at the same time, so we know
        # a cycle has seen the new voltage before asserting on its absence.
        client.write_register(5, 1500, device_id=1)
        assert mqtt.wait(f"{mqtt.prefix}/{PATH}/meter1/speed", lambda p: p["value"] == 1500)
        assert wait_for(lambda: False, timeout=0.5) is False  # a few more cycles
        assert all(p["value"] == 230.5 for p in mqtt.all(topic))
        # Beyond the deadband: published.
        client.write_registers(0, float_words(231.5), device_id=1)
        assert mqtt.wait(topic, lambda p: p["value"] == 231.5), mqtt.all(topic)
    finally:
        client.close()


def test_mbpoll_reads_the_same_values(gateway):
    """An independent master (mbpoll) reading the simulator agrees with
    what Railgate published."""
    proc, mqtt, sim_port = gateway
    speed = mqtt.wait(f"{mqtt.prefix}/{PATH}/meter1/speed")
    voltage = mqtt.wait(f"{mqtt.prefix}/{PATH}/meter1/voltage")
    assert speed and voltage, log_of(proc)

    def mbpoll(*args):
        out = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(sim_port), "-1", "-0", *args, "127.0.0.1"],
                             capture_output=True, text=True, timeout=10).stdout
        return [line.split(":", 1)[1].split()[0] for line in out.splitlines() if line.startswith("[")]

    assert int(mbpoll("-a", "1", "-r", "5", "-c", "1")[0]) == speed["value"]
    # -B: big-endian word order, as the simulator stores float32 ABCD.
    assert float(mbpoll("-a", "1", "-t", "4:float", "-B", "-r", "0", "-c", "1")[0]) == voltage["value"]
    assert int(mbpoll("-a", "2", "-r", "5", "-c", "1")[0]) == mqtt.wait(f"{mqtt.prefix}/{PATH}/meter2/speed")["value"]


def test_sigterm_stops_cleanly_and_marks_the_gateway_offline(gateway):
    proc, mqtt, _ = gateway
    status = f"{mqtt.prefix}/status/{mqtt.gw_id}"
    assert mqtt.wait(status, lambda p: p == "online"), log_of(proc)
    assert stop_gracefully(proc) == 0
    assert mqtt.wait(status, lambda p: p == "offline")
    log = log_of(proc)
    assert "stopping" in log and "railgate stopped" in log


def test_device_totals_are_logged_at_stop(gateway):
    proc, mqtt, _ = gateway
    assert mqtt.wait(f"{mqtt.prefix}/{PATH}/meter2/speed"), log_of(proc)
    assert stop_gracefully(proc, sig=2) == 0  # SIGINT
    assert "device totals" in log_of(proc)
