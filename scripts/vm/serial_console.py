#!/usr/bin/env python3
"""The technician at the appliance's serial console, for scripts/vmtest.

Waits until the VM's test script says the console may be used (a marker in
the kernel console log), then on the technician's serial port (ttyS0 on amd64,
ttyAMA0 on arm64; a Unix socket of QEMU's): logs in at
the getty, lands in `railgate console` (the account's login shell), runs
`show status` and exits. Prints one result line like the VM's own:
    RGTEST PASS serial-console <what it saw>   or   RGTEST FAIL serial-console <why>
Every wait is bounded."""

import argparse
import re
import socket
import sys
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Serial:
    def __init__(self, path, deadline):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(0.2)
        self.deadline = deadline
        self.seen = b""

    def expect(self, pattern, seconds):
        """Reads until `pattern` (bytes regex) appears in what came since the last match."""
        until = min(time.monotonic() + seconds, self.deadline)
        regex = re.compile(pattern)
        while time.monotonic() < until:
            plain = ANSI.sub(b"", self.seen)
            if regex.search(plain):
                self.seen = b""
                return plain.decode(errors="replace")
            try:
                data = self.sock.recv(4096)
                if not data:
                    break
                self.seen += data
            except socket.timeout:
                pass
        raise TimeoutError(f"no {pattern!r} within {seconds} s; saw {ANSI.sub(b'', self.seen)[-300:]!r}")

    def send(self, text):
        # A technician types at 115200 baud: one character at a time is what a getty expects.
        for ch in text.encode():
            self.sock.sendall(bytes([ch]))
            time.sleep(0.005)


def wait_for_marker(log, marker, deadline):
    while time.monotonic() < deadline:
        try:
            with open(log, "rb") as f:
                if marker.encode() in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.5)
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True, help="QEMU's Unix socket of the technician's serial port")
    parser.add_argument("--tty", default="ttyS0", help="that port's name in the VM, for the report")
    parser.add_argument("--log", required=True, help="the kernel console log (ttyS1)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    if not wait_for_marker(args.log, "RGTEST CONSOLE-READY", deadline):
        print("RGTEST FAIL serial-console the VM never said the console may be used")
        return 1
    try:
        serial = Serial(args.socket, deadline)
        started = time.monotonic()
        serial.send("\r")
        serial.expect(rb"login: ?$", 60)
        serial.send(args.user + "\r")
        serial.expect(rb"Password: ?$", 30)
        serial.send(args.password + "\r")
        serial.expect(rb"railgate> ", 60)
        logged_in = time.monotonic() - started
        serial.send("show status\r")
        text = serial.expect(rb"version [^\n]*\n[\s\S]*railgate> ", 30)
        serial.send("exit\r")
        serial.expect(rb"login: ?$", 30)
    except (OSError, TimeoutError) as error:
        print(f"RGTEST FAIL serial-console {error}")
        return 1
    lines = [line.strip() for line in text.splitlines()]
    gateway = next((line for line in lines if line.startswith("gateway ")), "")
    version = next((line for line in lines if line.startswith("version ")), "")
    if not gateway or not version:
        print(f"RGTEST FAIL serial-console show status answered {lines!r}")
        return 1
    print(f"RGTEST PASS serial-console login as {args.user} on {args.tty} → railgate console in {logged_in:.1f} s; "
          f"show status: {' | '.join(re.sub(' +', ' ', line) for line in (gateway, version))}; exit → getty again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
