"""Modbus TCP devices that answer wrongly, written here as a socket server
(pymodbus cannot be made to misbehave this way): an answer from another unit
than the one asked, and an answer trickled a byte every half second. Their
tags go bad with the reason, the transaction ends at its deadline, and the
bus beside them keeps polling the pymodbus simulator."""

import socket
import struct
import threading
import time

from conftest import free_port, gateway_yaml, log_of, start_railgate, tcp_bus_yaml


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
