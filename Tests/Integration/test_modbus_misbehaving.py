"""Modbus devices that answer wrongly, written here as a socket server or on
a socat PTY (pymodbus cannot be made to misbehave this way): an answer from
another unit than the one asked, and an answer trickled a byte at a time over
TCP and over a serial line. Their tags go bad with the reason, the
transaction ends at its deadline, and the bus beside them keeps polling the
pymodbus simulator."""

import os
import socket
import struct
import threading
import time

from conftest import gateway_yaml, log_of, pty_pair, start_railgate, tcp_bus_yaml


class MisbehavingDevice:
    """Answers every read of holding registers with 1450s, as `mode` says: "wrong-unit" (unit 9
    whatever was asked) or "trickle" (one octet every `delay` seconds)."""

    def __init__(self, mode, delay=0.5):
        self.mode, self.delay = mode, delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests = 0
        self.stopped = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection):
        with connection:
            while not self.stopped:
                request = b""
                while len(request) < 12:
                    chunk = connection.recv(12 - len(request))
                    if not chunk:
                        return
                    request += chunk
                self.requests += 1
                tid, _, _, unit, function, _, count = struct.unpack(">HHHBBHH", request)
                unit = 9 if self.mode == "wrong-unit" else unit
                pdu = bytes([function, 2 * count]) + struct.pack(">H", 1450) * count
                answer = struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
                try:
                    if self.mode == "trickle":
                        for octet in answer:
                            connection.sendall(bytes([octet]))
                            time.sleep(self.delay)
                    else:
                        connection.sendall(answer)
                except OSError:
                    return

    def close(self):
        self.stopped = True
        self.server.close()


def test_an_answer_from_another_unit_is_a_protocol_error(procs, broker, sim_tcp, collector_factory):
    device = MisbehavingDevice("wrong-unit")
    try:
        prefix = "bad-unit"
        mqtt = collector_factory(f"{prefix}/#")
        proc = start_railgate(procs, gateway_yaml(prefix, broker,
            tcp_bus_yaml("gw", device.port, "behind_gateway") + tcp_bus_yaml("alive", sim_tcp, "meter")))
        bad = mqtt.wait(f"{prefix}/acme/behind_gateway/speed", lambda p: p["quality"] == "bad")
        assert bad is not None and bad["reason"] == "protocol error", (bad, log_of(proc))
        # Never taken as good, though the registers it sent are well formed.
        time.sleep(1)
        assert all(p["quality"] == "bad" for p in mqtt.all(f"{prefix}/acme/behind_gateway/speed"))
        assert "Response not from requested slave" in log_of(proc)
        assert mqtt.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450)
    finally:
        device.close()


def test_an_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(procs, broker, sim_tcp, collector_factory):
    device = MisbehavingDevice("trickle", delay=0.5)
    try:
        prefix = "bad-trickle"
        mqtt = collector_factory(f"{prefix}/#")
        started = time.monotonic()
        proc = start_railgate(procs, gateway_yaml(prefix, broker,
            tcp_bus_yaml("slow", device.port, "slow_meter", "timeout_ms: 1000\nreconnect_min_ms: 100")
            + tcp_bus_yaml("alive", sim_tcp, "meter")))
        # 13 octets at 0.5 s would take 6.5 s; libmodbus alone waited up to its byte timeout per octet.
        bad = mqtt.wait(f"{prefix}/acme/slow_meter/speed", lambda p: p["quality"] == "bad", 10)
        assert bad is not None and bad["reason"] == "timeout", (bad, log_of(proc))
        assert time.monotonic() - started < 6, time.monotonic() - started
        # The bus goes on trying (each transaction cut at 1 s), the other bus polls.
        assert mqtt.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450)
        time.sleep(3)
        assert device.requests >= 2, device.requests
        assert not any(p["quality"] == "good" for p in mqtt.all(f"{prefix}/acme/slow_meter/speed"))
        assert proc.poll() is None
    finally:
        device.close()


def crc16(data):
    """CRC-16/MODBUS, low octet first on the wire."""
    crc = 0xFFFF
    for octet in data:
        crc ^= octet
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def trickle_rtu(path, delay, stop):
    """A serial device that answers each read of holding registers with 1450s, one octet every
    `delay` seconds (each octet well inside libmodbus's byte timeout)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        while not stop.is_set():
            request = b""
            while len(request) < 8 and not stop.is_set():
                request += os.read(fd, 8 - len(request))
            if len(request) < 8:
                return
            unit, function, _, count = struct.unpack(">BBHH", request[:6])
            answer = bytes([unit, function, 2 * count]) + struct.pack(">H", 1450) * count
            for octet in answer + crc16(answer):
                if stop.is_set():
                    return
                os.write(fd, bytes([octet]))
                time.sleep(delay)
    finally:
        os.close(fd)


def test_a_serial_answer_trickled_a_byte_at_a_time_ends_at_the_deadline(procs, broker, sim_tcp, collector_factory):
    device_end, gateway_end = pty_pair(procs, "trickle")
    stop = threading.Event()
    threading.Thread(target=trickle_rtu, args=(device_end, 0.2, stop), daemon=True).start()
    try:
        prefix = "bad-trickle-rtu"
        mqtt = collector_factory(f"{prefix}/#")
        started = time.monotonic()
        serial = f"""
  - name: rs485
    protocol: modbus-rtu
    serial: {{device: {gateway_end}, baud: 19200, parity: N, data_bits: 8, stop_bits: 1}}
    timeout_ms: 500
    devices:
      - name: slow_drive
        unit: 1
        poll_ms: 200
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
"""
        proc = start_railgate(procs, gateway_yaml(prefix, broker, serial + tcp_bus_yaml("alive", sim_tcp, "meter")))
        # 7 octets at 0.2 s take 1.4 s: past the 500 ms deadline, though no gap reaches the byte timeout.
        bad = mqtt.wait(f"{prefix}/acme/slow_drive/speed", lambda p: p["quality"] == "bad", 10)
        assert bad is not None and bad["reason"] == "timeout", (bad, log_of(proc))
        assert time.monotonic() - started < 6, time.monotonic() - started
        assert mqtt.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450)
        time.sleep(2)
        assert not any(p["quality"] == "good" for p in mqtt.all(f"{prefix}/acme/slow_drive/speed"))
        assert proc.poll() is None
    finally:
        stop.set()
