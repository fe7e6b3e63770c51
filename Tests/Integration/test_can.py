"""The CAN bus against cantools: frames of hardware/dbc/RG_MACHINE.dbc, encoded
by cantools, reach Railgate as `struct can_frame` records over a SOCK_SEQPACKET
socket (this machine's kernel has no SocketCAN: the same frame path, one
record per packet), and every published signal must equal cantools' decoding
of the same frame. Also: message timeouts, short frames, unknown ids, a write
sent as a frame, a missing interface and a malformed DBC named by line."""

import random
import re
import socket
import struct
import subprocess
import threading
import time

import cantools
import pytest

from conftest import RAILGATE, ROOT, free_port, log_of, start_railgate, stop_gracefully, wait_for

DBC = ROOT / "hardware" / "dbc" / "RG_MACHINE.dbc"
EFF = 0x8000_0000


class FramePeer:
    """The other end of the bus: a SOCK_SEQPACKET listener Railgate connects
    to; sends cantools-encoded frames and keeps what Railgate sends."""

    def __init__(self, path):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.server.bind(str(path))
        self.server.listen(1)
        self.connection = None
        self.received = []
        self.connected = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.connection, _ = self.server.accept()
        self.connected.set()
        while True:
            try:
                record = self.connection.recv(72)
            except OSError:
                return
            if not record:
                return
            self.received.append(record)

    def send(self, message, data, length=None):
        can_id = message.frame_id | (EFF if message.is_extended_frame else 0)
        self.send_raw(can_id, data, length)

    def send_raw(self, can_id, data, length=None):
        if len(data) > 8:  # struct canfd_frame: id, len, flags, 2 reserved, 64 data bytes
            self.connection.send(struct.pack("<IBB2x64s", can_id, len(data), 0, bytes(data)))
            return
        payload = bytes(data).ljust(8, b"\0")[:8]
        self.connection.send(struct.pack("<IB3x8s", can_id, len(data) if length is None else length, payload))

    def close(self):
        for s in (self.connection, self.server):
            if s:
                s.close()


def can_config(prefix, broker_port, peer_path, dbc=DBC, interface=None, extra=""):
    return f"""
schema: 3
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}, writes: true}}
mqtt: {{host: 127.0.0.1, port: {broker_port}, topic_prefix: {prefix}}}
{extra}
south:
  - name: can1
    protocol: can
    interface: {interface or f"seqpacket:{peer_path}"}
    dbc: {dbc}
    reconnect_min_ms: 100
    reconnect_max_ms: 500
    devices:
      - {{name: engine, messages: [EEC1, ET1]}}
      - {{name: battery, messages: [BatteryStatus, BatteryCells], timeout_ms: 400}}
      - {{name: drive, messages: [DriveCommand, DriveStatus], writable: [SpeedSetpoint, Enable, Direction],
         send_period_ms: {{DriveCommand: 100}}}}
"""


@pytest.fixture
def can_gateway(procs, broker, collector_factory, request):
    prefix = f"rgcan-{request.node.name[5:25].replace('_', '-')}"
    peer = FramePeer(procs.tmp / "can.sock")
    collector = collector_factory(f"{prefix}/#")
    sock = procs.tmp / "control.sock"
    proc = start_railgate(procs, can_config(prefix, broker, procs.tmp / "can.sock",
                                            extra=f"console: {{socket: {sock}, history_dir: {procs.tmp}/history}}"))
    assert peer.connected.wait(15), log_of(proc)
    proc.peer, proc.mqtt, proc.prefix, proc.sock = peer, collector, prefix, sock
    yield proc
    peer.close()


def topic(gateway, device, signal):
    return f"{gateway.prefix}/acme/{device}/{signal}"


def random_values(message, rng):
    """Values within each signal's range, on its scale grid."""
    values = {}
    for signal in message.signals:
        low, high = signal.minimum, signal.maximum
        if signal.is_float:
            values[signal.name] = round(rng.uniform(low, high), 2)
        else:
            steps = int((high - low) / signal.scale)
            values[signal.name] = low + rng.randint(0, steps) * signal.scale
    return values


def test_every_signal_matches_cantools(can_gateway):
    db = cantools.database.load_file(DBC)
    rng = random.Random(2026)
    devices = {"EEC1": "engine", "ET1": "engine", "BatteryStatus": "battery", "DriveStatus": "drive"}
    for round_ in range(5):
        expected = {}
        for name, device in devices.items():
            message = db.get_message_by_name(name)
            data = message.encode(random_values(message, rng))
            can_gateway.peer.send(message, data)
            for signal, value in message.decode(data, decode_choices=False).items():
                expected[(device, signal)] = value
        for (device, signal), value in expected.items():
            payload = can_gateway.mqtt.wait(topic(can_gateway, device, signal),
                                            lambda p, v=value: p["quality"] == "good" and abs(p["value"] - v) <= 1e-6 * max(1, abs(v)),
                                            timeout=10)
            assert payload is not None, (round_, device, signal, value, can_gateway.mqtt.all(topic(can_gateway, device, signal)), log_of(can_gateway))
    unit = can_gateway.mqtt.latest(topic(can_gateway, "engine", "EngineSpeed"))
    assert unit["unit"] == "rpm"


def test_multiplexed_signals_follow_their_multiplexer(can_gateway):
    db = cantools.database.load_file(DBC)
    cells = db.get_message_by_name("BatteryCells")
    group0 = cells.encode({"CellGroup": 0, "CellVoltage1": 3.301, "CellVoltage2": 3.302, "CellTempMax": 21})
    group1 = cells.encode({"CellGroup": 1, "CellVoltage3": 3.303, "CellVoltage4": 3.304, "CellTempMax": 22})
    can_gateway.peer.send(cells, group0)
    can_gateway.peer.send(cells, group1)
    for signal, value in {"CellVoltage1": 3.301, "CellVoltage2": 3.302, "CellVoltage3": 3.303, "CellVoltage4": 3.304}.items():
        assert can_gateway.mqtt.wait(topic(can_gateway, "battery", signal), lambda p, v=value: abs(p["value"] - v) < 1e-9), signal
    # Group 1 did not overwrite the group 0 cells.
    assert all(abs(p["value"] - 3.301) < 1e-9 for p in can_gateway.mqtt.all(topic(can_gateway, "battery", "CellVoltage1"))
               if p["quality"] == "good")


def test_silence_short_frames_and_unknown_ids(can_gateway):
    db = cantools.database.load_file(DBC)
    status = db.get_message_by_name("BatteryStatus")
    data = status.encode({"PackVoltage": 400, "PackCurrent": 10, "StateOfCharge": 50, "ContactorState": 2, "Fault": 0})
    can_gateway.peer.send(status, data)
    voltage = topic(can_gateway, "battery", "PackVoltage")
    assert can_gateway.mqtt.wait(voltage, lambda p: p["quality"] == "good"), log_of(can_gateway)
    # Four bytes: PackVoltage and PackCurrent fit, StateOfCharge (byte 4) does not.
    can_gateway.peer.send(status, data[:4])
    assert can_gateway.mqtt.wait(topic(can_gateway, "battery", "StateOfCharge"), lambda p: p["quality"] != "good")
    # Ids nobody configured are ignored and counted.
    for _ in range(3):
        can_gateway.peer.send_raw(0x7AB, b"\x01\x02")
    # The message stops: after its 400 ms timeout its tags are bad.
    assert can_gateway.mqtt.wait(voltage, lambda p: p.get("reason") == "timeout", timeout=5), can_gateway.mqtt.all(voltage)
    console = subprocess.run([RAILGATE, "console", "--socket", can_gateway.sock], input="show stats\n",
                             capture_output=True, text=True, timeout=30)
    assert "unknown 3" in console.stdout and "short 1" in console.stdout, console.stdout


def test_a_write_is_sent_as_a_frame(can_gateway):
    db = cantools.database.load_file(DBC)
    console = subprocess.run([RAILGATE, "console", "--socket", can_gateway.sock],
                             input="write tag drive/SpeedSetpoint -1234.5\n", capture_output=True, text=True, timeout=30)
    assert "done" in console.stdout.lower() or "ok" in console.stdout.lower(), console.stdout + console.stderr
    assert wait_for(lambda: can_gateway.peer.received, 10), log_of(can_gateway)
    can_id, length = struct.unpack("<IB", can_gateway.peer.received[0][:5])
    command = db.get_message_by_name("DriveCommand")
    assert can_id == command.frame_id and length == command.length
    assert command.decode(can_gateway.peer.received[0][8:8 + length])["SpeedSetpoint"] == -1234.5
    # A second signal of the same message keeps the first one's value; the message repeats every 100 ms.
    subprocess.run([RAILGATE, "console", "--socket", can_gateway.sock], input="write tag drive/Direction 2\n",
                   capture_output=True, text=True, timeout=30)
    assert wait_for(lambda: any(command.decode(r[8:16], decode_choices=False)["Direction"] == 2
                                for r in can_gateway.peer.received), 10)
    count = len(can_gateway.peer.received)
    time.sleep(1.0)
    repeated = can_gateway.peer.received[count:]
    assert 6 <= len(repeated) <= 14, len(repeated)
    last = command.decode(repeated[-1][8:16], decode_choices=False)
    assert last["SpeedSetpoint"] == -1234.5 and last["Direction"] == 2


def test_show_tag_names_the_message_and_signal_of_a_can_tag(can_gateway):
    console = subprocess.run([RAILGATE, "console", "--socket", can_gateway.sock],
                             input="show tag drive/SpeedSetpoint\nshow tag battery/PackVoltage\n",
                             capture_output=True, text=True, timeout=30)
    assert "CAN bus can1 (seqpacket " in console.stdout, console.stdout + console.stderr
    assert "message DriveCommand (0x200), signal SpeedSetpoint bits 0+16" in console.stdout, console.stdout
    assert "signal PackVoltage" in console.stdout, console.stdout
    assert can_gateway.poll() is None, log_of(can_gateway)


def test_devices_stats_and_status_show_the_can_bus(can_gateway):
    console = subprocess.run([RAILGATE, "console", "--socket", can_gateway.sock],
                             input="show devices\nshow stats\nshow status\n", capture_output=True, text=True, timeout=30)
    out = console.stdout
    for device, messages in (("engine", 2), ("battery", 2), ("drive", 2)):
        assert f"{device.ljust(16)} bus can1 {messages} message(s)  " in out, out
    assert "bus can1: frames " in out and "  engine: frames " in out, out
    assert re.search(r"^south     1 can bus\(es\), \d+ tags$", out, re.M), out


def test_check_describes_the_can_bus(tmp_path):
    config = tmp_path / "can.yaml"
    config.write_text(can_config("rgcan-check", free_port(), tmp_path / "x.sock"))
    result = subprocess.run([RAILGATE, "check", "--config", config], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"can bus can1: seqpacket {tmp_path / 'x.sock'}, DBC {DBC}" in result.stdout, result.stdout
    assert "  device engine: 2 message(s), " in result.stdout and "EEC1, ET1" in result.stdout, result.stdout


def test_a_bus_off_error_frame_makes_the_tags_bad(can_gateway):
    db = cantools.database.load_file(DBC)
    et1 = db.get_message_by_name("ET1")
    can_gateway.peer.send(et1, et1.encode({"CoolantTemp": 80, "FuelTemp": 30, "OilTemp": 90}))
    coolant = topic(can_gateway, "engine", "CoolantTemp")
    assert can_gateway.mqtt.wait(coolant, lambda p: p["quality"] == "good"), log_of(can_gateway)
    can_gateway.peer.send_raw(0x2000_0040, bytes(8))  # CAN_ERR_FLAG | CAN_ERR_BUSOFF
    assert can_gateway.mqtt.wait(coolant, lambda p: p.get("reason") == "disconnected"), can_gateway.mqtt.all(coolant)
    can_gateway.peer.send(et1, et1.encode({"CoolantTemp": 81, "FuelTemp": 30, "OilTemp": 90}))
    assert can_gateway.mqtt.wait(coolant, lambda p: p.get("value") == 81)


def test_j1939_matches_by_pgn_and_source_address(procs, broker, collector_factory):
    """The DBC's EEC1 id carries address 0xFE; on a J1939 bus the engine at
    address 0 sends it as 0x0CF00400. Another ECU's EEC1 (address 0x17) is not
    the engine's."""
    db = cantools.database.load_file(DBC)
    eec1 = db.get_message_by_name("EEC1")
    peer = FramePeer(procs.tmp / "j1939.sock")
    collector = collector_factory("rgcan-j1939/#")
    config = can_config("rgcan-j1939", broker, procs.tmp / "j1939.sock").replace(
        "    reconnect_min_ms: 100", "    j1939: true\n    reconnect_min_ms: 100").replace(
        "{name: engine, messages: [EEC1, ET1]}", "{name: engine, messages: [EEC1, ET1], source_address: 0}").replace(
        "      - {name: battery, messages: [BatteryStatus, BatteryCells], timeout_ms: 400}\n", "").replace(
        "      - {name: drive, messages: [DriveCommand, DriveStatus], writable: [SpeedSetpoint, Enable, Direction],\n"
        "         send_period_ms: {DriveCommand: 100}}\n", "")
    proc = start_railgate(procs, config)
    assert peer.connected.wait(15), log_of(proc)
    try:
        other = eec1.encode({"EngineTorqueMode": 0, "DriverDemandTorque": 0, "ActualEngineTorque": 0,
                             "EngineSpeed": 999.0, "SourceAddress": 0x17})
        peer.send_raw(EFF | 0x0CF00417, other)
        engine = eec1.encode({"EngineTorqueMode": 1, "DriverDemandTorque": 10, "ActualEngineTorque": 5,
                              "EngineSpeed": 1800.5, "SourceAddress": 0})
        peer.send_raw(EFF | 0x0CF00400, engine)
        speed = "rgcan-j1939/acme/engine/EngineSpeed"
        assert collector.wait(speed, lambda p: p["value"] == 1800.5), log_of(proc)
        assert all(p["value"] != 999.0 for p in collector.all(speed) if "value" in p)
    finally:
        peer.close()


def test_can_fd_frames(procs, broker, collector_factory):
    db = cantools.database.load_file(DBC)
    cells = db.get_message_by_name("CellVoltagesFD")
    peer = FramePeer(procs.tmp / "fd.sock")
    collector = collector_factory("rgcan-fd/#")
    config = can_config("rgcan-fd", broker, procs.tmp / "fd.sock").replace(
        "    reconnect_min_ms: 100", "    fd: true\n    reconnect_min_ms: 100").replace(
        "messages: [BatteryStatus, BatteryCells]", "messages: [BatteryStatus, BatteryCells, CellVoltagesFD]")
    proc = start_railgate(procs, config)
    assert peer.connected.wait(15), log_of(proc)
    try:
        data = cells.encode({"Cell1": 3.101, "Cell2": 3.102, "Cell7": 3.107, "Cell8": 3.108})
        assert len(data) == 16
        peer.send(cells, data)
        for signal, value in cells.decode(data).items():
            assert collector.wait(f"rgcan-fd/acme/battery/{signal}", lambda p, v=value: abs(p.get("value", -1) - v) < 1e-9), \
                (signal, log_of(proc))
    finally:
        peer.close()


def test_a_missing_interface_is_named(procs, broker):
    proc = start_railgate(procs, can_config("rgcan-missing", broker, None, interface="can9"))
    assert wait_for(lambda: "CAN interface can9:" in log_of(proc), 10), log_of(proc)
    assert proc.poll() is None  # the gateway keeps running and retrying
    assert stop_gracefully(proc) == 0


def test_a_malformed_dbc_is_named_with_file_and_line(tmp_path):
    broken = tmp_path / "broken.dbc"
    broken.write_text(DBC.read_text().replace("SG_ EngineSpeed : 24|16@1+", "SG_ EngineSpeed : 24|16@3+"))
    config = tmp_path / "can.yaml"
    config.write_text(can_config("rgcan-bad", free_port(), tmp_path / "x.sock", dbc=broken))
    result = subprocess.run([RAILGATE, "check", "--config", config], capture_output=True, text=True)
    assert result.returncode == 2
    assert f"DBC {broken}:21: signal EngineSpeed: expected start|length@order±" in result.stdout + result.stderr, result.stdout + result.stderr
