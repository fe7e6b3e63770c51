"""The OPC UA server's resource bounds, against asyncua clients and raw
UA-TCP from a socket: a connection limit, a deadline for a request begun, a
budget for what all connections hold of requests received in part, session
timeouts that never expire, a message of a million empty Variants. Each time
the offender gets an Error (or a fault), the other clients go on and the
gateway's memory stays put."""

import select
import socket
import struct
import time
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import nodeid_to_binary, struct_from_binary, struct_to_binary

from conftest import free_port, log_of, start_railgate, start_sim_tcp, wait_for, wait_for_port
from test_opcua import BASE, hello, node_id, opcua_config, run, wait_good

BAD_TIMEOUT = 0x800A0000
BAD_NOT_ENOUGH_RESOURCES = 0x80810000


def start(procs, extra_opcua=""):
    sim_port = start_sim_tcp(procs)
    port = free_port()
    proc = start_railgate(procs, opcua_config(port, sim_port, extra_opcua=extra_opcua))
    wait_for_port(port)
    return f"opc.tcp://127.0.0.1:{port}", port, proc


def rss_kb(proc):
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def recv_message(sock):
    """One UA-TCP message (header and body)."""
    header = b""
    while len(header) < 8:
        chunk = sock.recv(8 - len(header))
        if not chunk:
            raise EOFError("closed")
        header += chunk
    size = struct.unpack("<I", header[4:8])[0]
    body = b""
    while len(body) < size - 8:
        chunk = sock.recv(size - 8 - len(body))
        if not chunk:
            raise EOFError("closed")
        body += chunk
    return header + body


def error_of(message):
    assert message[:4] == b"ERRF", message[:16]
    return struct.unpack("<I", message[8:12])[0]


class RawChannel:
    """A UA-TCP connection with a Security None channel, opened by hand."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.sendall(hello())
        assert recv_message(self.sock)[:4] == b"ACKF"
        request = ua.OpenSecureChannelRequest()
        request.Parameters.RequestType = ua.SecurityTokenRequestType.Issue
        request.Parameters.SecurityMode = ua.MessageSecurityMode.None_
        request.Parameters.ClientNonce = b""
        request.Parameters.RequestedLifetime = 600_000
        policy = b"http://opcfoundation.org/UA/SecurityPolicy#None"
        body = struct.pack("<I", 0) + struct.pack("<i", len(policy)) + policy + struct.pack("<ii", -1, -1)
        body += struct.pack("<II", 1, 1) + struct_to_binary(request)
        self.sock.sendall(b"OPNF" + struct.pack("<I", 8 + len(body)) + body)
        answer = recv_message(self.sock)
        assert answer[:4] == b"OPNF", answer[:16]
        length = struct.unpack("<i", answer[12:16])[0]
        offset = 16 + length + 8 + 8  # policy, no certificate, no thumbprint, sequence header
        response = struct_from_binary(ua.OpenSecureChannelResponse, Buffer(answer[offset:]))
        self.channel = response.Parameters.SecurityToken.ChannelId
        self.token = response.Parameters.SecurityToken.TokenId
        self.sequence = 1

    def send_chunk(self, kind, payload, request_id=7):
        self.sequence += 1
        body = struct.pack("<IIII", self.channel, self.token, self.sequence, request_id) + payload
        self.sock.sendall(b"MSG" + kind + struct.pack("<I", 8 + len(body)) + body)

    def close(self):
        self.sock.close()


def test_connections_past_the_limit_are_refused_and_served_again_later(procs):
    url, port, proc = start(procs, "  max_connections: 4")
    time.sleep(0.5)  # the probe connection of wait_for_port is counted out
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    for sock in held:
        sock.sendall(hello())
        assert recv_message(sock)[:4] == b"ACKF"
    extra = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert error_of(recv_message(extra)) == BAD_NOT_ENOUGH_RESOURCES
    extra.close()
    assert "OPC UA connection refused: too many connections" in log_of(proc)
    for sock in held:
        sock.close()

    async def read():
        async with Client(url=url) as client:
            return (await wait_good(client, f"{BASE}/speed")).Value.Value
    assert wait_for(lambda: run(read()) == 1450, 10)


def test_a_request_sent_a_byte_a_second_is_cut_off_and_others_are_served(procs):
    url, port, proc = start(procs)
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    slow.sendall(hello())
    assert recv_message(slow)[:4] == b"ACKF"
    # A chunk header announcing 1000 bytes, then one byte a second.
    slow.sendall(b"MSGF" + struct.pack("<I", 1000))
    started = time.monotonic()

    async def meanwhile():
        async with Client(url=url) as client:
            return (await wait_good(client, f"{BASE}/speed")).Value.Value
    assert run(meanwhile()) == 1450
    answer = b""
    while time.monotonic() - started < 25:
        try:
            slow.sendall(b"\x00")
        except OSError:
            break
        slow.settimeout(1)
        try:
            answer += slow.recv(65536)
            if answer[:4] == b"ERRF" and len(answer) >= 12:
                break
        except socket.timeout:
            pass
    elapsed = time.monotonic() - started
    assert error_of(answer) == BAD_TIMEOUT and elapsed < 15, (answer[:16], elapsed)
    slow.close()


def test_requests_received_in_part_are_bounded_over_all_connections(procs):
    # 16 MiB requests; all connections together may hold 32 MiB of unfinished ones.
    url, port, proc = start(procs)
    channels = [RawChannel(port) for _ in range(3)]
    piece = b"\x00" * 65000
    chunks = int(12.5 * (1 << 20) / len(piece))
    for channel in channels[:2]:
        for _ in range(chunks):
            channel.send_chunk(b"C", piece)
    # The third pushes the total past 32 MiB: one chunk at a time, so that the server has read
    # everything sent when it closes (and its Error is not lost to a reset).
    third = channels[2]
    refused = None
    for _ in range(chunks):
        third.send_chunk(b"C", piece)
        readable, _, _ = select.select([third.sock], [], [], 0.02)
        if readable:
            refused = error_of(recv_message(third.sock))
            break
    assert refused == BAD_NOT_ENOUGH_RESOURCES
    assert "the request buffers of all connections are full" in log_of(proc)
    # The first two are still connected, each holding its unfinished request.
    for channel in channels[:2]:
        assert not select.select([channel.sock], [], [], 0)[0]
        channel.close()
    third.close()

    async def read():
        async with Client(url=url) as client:
            return (await wait_good(client, f"{BASE}/speed")).Value.Value
    assert run(read()) == 1450


def test_sessions_that_never_expire_do_not_lock_clients_out(procs):
    url, port, proc = start(procs, "  max_sessions: 2")

    async def leave_a_session():
        client = Client(url=url)
        client.session_timeout = float("nan")
        await client.connect()
        client.uaclient.protocol.transport.abort()

    for _ in range(2):
        run(leave_a_session())

    async def read():
        async with Client(url=url) as client:
            return (await wait_good(client, f"{BASE}/speed")).Value.Value
    assert run(read()) == 1450
    assert "OPC UA session closed to make room" in log_of(proc)
    assert "its connection is gone" in log_of(proc)


def test_a_message_of_a_million_empty_variants_is_a_decoding_error(procs):
    url, port, proc = start(procs, "  max_message_size: 16777216")
    before = rss_kb(proc)
    channel = RawChannel(port)
    # A WriteRequest whose one value is an array of 1 000 000 empty Variants (1 byte each).
    request = ua.WriteRequest()
    header = struct_to_binary(request)[:-4]  # TypeId and RequestHeader; the NodesToWrite count follows
    write_value = nodeid_to_binary(ua.NodeId(f"{BASE}/setpoint", 1)) + struct.pack("<I", 13) + struct.pack("<i", -1)
    count = 1_000_000
    variant = bytes([0x98]) + struct.pack("<i", count) + b"\x00" * count  # array of Variant, each empty
    data_value = bytes([0x01]) + variant
    body = header + struct.pack("<i", 1) + write_value + data_value
    # Sent in chunks the 65535-byte buffer takes.
    size = 60000
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    for i, part in enumerate(parts):
        channel.send_chunk(b"F" if i == len(parts) - 1 else b"C", part, request_id=9)
    answer = recv_message(channel.sock)
    assert answer[:4] == b"MSGF", answer[:16]
    # ServiceFault (four-byte NodeId 397), then ResponseHeader: Timestamp, RequestHandle, ServiceResult.
    body = answer[24:]
    assert body[:2] == b"\x01\x00" and struct.unpack("<H", body[2:4])[0] == 397, body[:8]
    assert struct.unpack("<I", body[16:20])[0] == ua.StatusCodes.BadDecodingError
    channel.close()
    # Refused before the elements were made: unbounded, they would take about 60 MB here.
    assert rss_kb(proc) - before < 30_000, (before, rss_kb(proc))
    assert proc.poll() is None
