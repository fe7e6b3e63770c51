"""Modbus RTU over a socat PTY pair: pymodbus serves two slaves on one end,
Railgate polls them in turn from the other."""

import sys

from conftest import BAD_CRC, SIM, log_of, pty_pair, start_railgate, start_sim_tcp, tcp_bus_yaml


def rtu_config(broker, line, prefix, extra_bus=""):
    # Parity N: PTYs on this kernel reject parity changes (see docs/testing.md);
    # real UARTs get the configured parity.
    return f"""
gateway:
  id: {prefix}
  isa95: {{enterprise: acme, site: plant1}}
mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: {prefix}}}
south:
  - name: rs485
    protocol: modbus-rtu
    serial: {{device: {line}, baud: 19200, parity: N, data_bits: 8, stop_bits: 1, rs485: true}}
    timeout_ms: 300
    devices:
      - name: drive1
        unit: 1
        poll_ms: 200
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
          - {{name: voltage, ref: 400001, type: float32}}
      - name: drive2
        unit: 2
        poll_ms: 200
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
      - name: drive3
        unit: 3
        poll_ms: 200
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
{extra_bus}
"""


def test_two_slaves_share_one_line_and_a_silent_one_times_out(procs, broker, collector_factory):
    device_end, gateway_end = pty_pair(procs, "rtu")
    procs.start([sys.executable, SIM, "--rtu", device_end, "--units", "1,2"], "sim-rtu")
    prefix = "rtu-two-slaves"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, rtu_config(broker, gateway_end, prefix))
    base = f"{prefix}/acme/plant1"
    assert mqtt.wait(f"{base}/drive1/speed", lambda p: p["value"] == 1450, 20), log_of(proc)
    assert mqtt.wait(f"{base}/drive1/voltage", lambda p: p["quality"] == "good")["value"] == 230.5
    assert mqtt.wait(f"{base}/drive2/speed", lambda p: p["value"] == 1451)
    # Unit 3 is not on the line: it times out, the others stay good.
    bad = mqtt.wait(f"{base}/drive3/speed", lambda p: p["quality"] == "bad")
    assert bad == {"ts": bad["ts"], "value": None, "quality": "bad", "reason": "timeout", "unit": "rpm"}
    # Once answering, drive1 stays good while drive3 keeps timing out.
    after = mqtt.all(f"{base}/drive1/speed")
    assert after[-1]["quality"] == "good"
    log = log_of(proc)
    assert "RS-485 mode not available" in log  # a PTY has no TIOCSRS485: warned, not fatal
    assert "device=drive3" in log and "timeout" in log


def test_bad_crc_marks_tags_bad_while_another_bus_keeps_polling(procs, broker, collector_factory):
    device_end, gateway_end = pty_pair(procs, "crc")
    procs.start([sys.executable, BAD_CRC, device_end], "bad-crc")
    sim_port = start_sim_tcp(procs)
    prefix = "rtu-bad-crc"
    mqtt = collector_factory(f"{prefix}/#")
    tcp_bus = tcp_bus_yaml("tcp1", sim_port, "meter")
    proc = start_railgate(procs, rtu_config(broker, gateway_end, prefix, tcp_bus))
    base = f"{prefix}/acme/plant1"
    crc = mqtt.wait(f"{base}/drive1/speed", lambda p: p["quality"] == "bad", 20)
    assert crc is not None, log_of(proc)
    assert crc["reason"] == "crc"
    assert mqtt.wait(f"{base}/meter/speed", lambda p: p["value"] == 1450)
    # The TCP device keeps its cycle: no bad value is ever published for it.
    assert all(p["quality"] == "good" for p in mqtt.all(f"{base}/meter/speed"))


def test_missing_serial_device_is_disconnected_and_other_buses_run(procs, broker, collector_factory, tmp_path):
    sim_port = start_sim_tcp(procs)
    prefix = "rtu-missing"
    mqtt = collector_factory(f"{prefix}/#")
    tcp_bus = tcp_bus_yaml("tcp1", sim_port, "meter")
    proc = start_railgate(procs, rtu_config(broker, tmp_path / "ttyUSB9", prefix, tcp_bus))
    base = f"{prefix}/acme/plant1"
    gone = mqtt.wait(f"{base}/drive1/speed", lambda p: p["quality"] == "bad")
    assert gone is not None and gone["reason"] == "disconnected", log_of(proc)
    assert mqtt.wait(f"{base}/meter/speed", lambda p: p["value"] == 1450)
    assert "No such file or directory" in log_of(proc)
