"""Helpers the benchmark scripts share: loopback ports and the libmodbus C
programs of Benchmarks/modbus."""

import socket
import subprocess
import time
from pathlib import Path

MODBUS = Path(__file__).resolve().parent / "modbus"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    """Returns once something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing on port {port}")


def build_modbus(work, names=("server", "client")):
    """Compiles Benchmarks/modbus/<name>.c against libmodbus into `work`."""
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmodbus"], capture_output=True, text=True,
                           check=True).stdout.split()
    for name in names:
        subprocess.run(["cc", "-O2", "-o", Path(work) / name, MODBUS / f"{name}.c", *flags], check=True)
