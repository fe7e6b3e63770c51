"""The control socket under hostile or careless clients, spoken to as its
JSON-lines protocol directly: counts and addresses out of range, a client
that leaves before reading its answer, a line that never ends, more
sessions than the gateway serves. Each gets a clear refusal and the gateway
keeps running (and polling)."""

import json
import socket
import time

from conftest import log_of, start_railgate, start_sim_tcp, wait_for
from test_console import console_config


class Control:
    """One connection to the control socket."""

    def __init__(self, path, timeout=15):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buffer = b""

    def request(self, **fields):
        self.sock.sendall(json.dumps(fields).encode() + b"\n")
        return self.response()

    def response(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the gateway closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def closed_by_peer(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def start(procs):
    sim = start_sim_tcp(procs, units="1")
    proc = start_railgate(procs, console_config(procs.tmp, sim))
    path = procs.tmp / "control.sock"
    assert wait_for(lambda: path.exists()), log_of(proc)
    return proc, path


def still_serving(proc, path):
    """The gateway runs, answers a new console and still polls its meter.

    Sessions that were just closed may still be counted for a moment on a
    busy machine: a refusal ("refused: 16 console sessions are open") is
    retried with a new connection, as a technician would."""
    assert proc.poll() is None, log_of(proc)

    def answers():
        control = Control(path)
        try:
            return "1450 rpm" in control.request(line="show tags")["text"]
        except (BrokenPipeError, ConnectionResetError, EOFError):
            return False
        finally:
            control.close()

    return wait_for(answers, 10)


def test_counts_and_addresses_out_of_range_are_refused_with_their_range(procs):
    proc, path = start(procs)
    control = Control(path)
    for line, expected in [
        ("show log -1", "usage: show log [N] (the last N lines, 1…10000)"),
        ("show log 0", "usage: show log [N]"),
        ("show log many", "usage: show log [N]"),
        ("show audit -1", "usage: show audit [N] (the last N entries, 1…10000)"),
        ("show audit 99999999999999999999", "usage: show audit [N]"),
        ("diag modbus read tcp1 1 holding-register 9223372036854775807 1", 'address "9223372036854775807" must be 0…65535'),
        ("diag modbus read tcp1 1 holding-register 65535 2", 'count "2" must be at least 1 and stay within addresses 0…65535'),
        ("diag modbus read tcp1 1 holding-register 0 -9223372036854775808", "count \"-9223372036854775808\""),
    ]:
        reply = control.request(line=line)
        assert not reply["ok"] and expected in reply["text"], (line, reply)
    # In range, the same commands answer.
    assert control.request(line="show audit 5")["ok"]
    reply = control.request(line="diag modbus read tcp1 1 holding-register 65535 1")
    assert "65535" in reply["text"] or "illegal data address" in reply["text"], reply
    control.close()
    assert still_serving(proc, path)


def test_a_client_that_leaves_before_its_answer_does_not_stop_the_gateway(procs):
    # No OPC UA and no MQTT here: nothing else in the process ignores SIGPIPE.
    proc, path = start(procs)
    for _ in range(30):
        control = Control(path)
        try:
            control.sock.sendall(json.dumps({"line": "show config"}).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused: the sessions before it are still busy answering (16 at most)
        control.close()
    time.sleep(0.5)
    assert still_serving(proc, path)


def test_a_line_that_never_ends_closes_its_connection_only(procs):
    proc, path = start(procs)
    control = Control(path)
    control.request(line="show status")
    sent = 0
    try:
        while sent < 1 << 20:
            control.sock.sendall(b"x" * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = control.response()
    assert reply["text"] == "error: request longer than 65536 bytes; connection closed" and reply["close"], reply
    assert control.closed_by_peer()
    control.close()
    assert "console request too long" in log_of(proc)
    assert still_serving(proc, path)


def test_more_sessions_than_the_limit_are_refused_and_served_again_later(procs):
    proc, path = start(procs)
    sessions = [Control(path) for _ in range(16)]
    for control in sessions:
        assert control.request(line="show status")["ok"]
    extra = Control(path)
    reply = extra.response()
    assert reply["text"] == "refused: 16 console sessions are open; try again later" and reply["close"], reply
    extra.close()
    for control in sessions:
        control.close()

    # The sessions' threads end as their clients go; then a new console is served.
    def served():
        control = Control(path)
        try:
            return control.request(line="show status")["ok"]
        except (EOFError, OSError):
            return False
        finally:
            control.close()
    assert wait_for(served, 10)
    assert still_serving(proc, path)
