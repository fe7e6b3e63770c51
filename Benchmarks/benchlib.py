"""Helpers the benchmark scripts share: loopback ports, the libmodbus C
programs of Benchmarks/modbus, and the machine-readable results file.

Every figure a script prints is also recorded with `record(section, ...)`
into the JSON file named by RAILGATE_BENCH_RESULTS (scripts/bench sets it to
.build/bench/results.json); without that variable nothing is written.
From a shell: python3 Benchmarks/benchlib.py record SECTION key=value ..."""

import json
import math
import os
import re
import socket
import subprocess
import sys
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
        subprocess.run(["cc", "-O2", "-g", "-o", Path(work) / name, MODBUS / f"{name}.c", *flags], check=True)


def console(sock_path, line):
    """One command on Railgate's control socket; returns its text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(sock_path))
        answers = []
        for request in ({"line": ""}, {"line": line}):
            s.sendall((json.dumps(request) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit(f"the control socket closed during {line!r}")
                data += chunk
            answers.append(json.loads(data))
        return answers[-1]["text"]


def device_stats(sock_path):
    """Modbus device counters from `show stats`: {device: {"cycles": …,
    "requests": …, "errors": …, "missed": …, "last_cycle_us": …}}."""
    stats = {}
    for line in console(sock_path, "show stats").splitlines():
        name, _, counters = line.partition(": ")
        found = dict((key, int(value)) for key, value in re.findall(r"(?:^| )(cycles|requests|errors|missed) (\d+)", counters))
        if line.startswith(" ") or "missed" not in found:
            continue  # another protocol's line
        cycle = re.search(r"last cycle (\d+) µs", counters)
        stats[name] = {**found, "last_cycle_us": int(cycle.group(1)) if cycle else 0}
    return stats


def cpu_seconds(pid):
    """CPU time of every thread of `pid` (/proc/PID/task/*/schedstat, ns
    resolution; utime/stime count 10 ms ticks, too coarse for a mostly idle
    gateway)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass  # the thread ended meanwhile
    return total / 1e9


def stop(processes):
    """Ends processes started for a benchmark: SIGTERM, then SIGKILL after 10 s."""
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_path(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear")
        time.sleep(0.05)


def meter_config(modbus_port, count, sections="", poll_ms=100, writes=False, extra_tags=()):
    """A configuration with one Modbus TCP device `bench/meter` whose tags
    t0…t<count-1> are holding registers 0…count-1, plus `sections` (YAML
    placed before `south:`, e.g. an opcua section), `extra_tags` (flow
    mappings, listed first) and, with `writes`, the gateway's write policy on."""
    tags = "\n".join([f"          - {tag}" for tag in extra_tags]
                     + [f"          - {{name: t{i}, table: holding-register, address: {i}}}" for i in range(count)])
    policy = ", writes: true" if writes else ""
    return f"""schema: 3
gateway: {{id: bench, isa95: {{enterprise: bench}}{policy}}}
{sections}
south:
  - name: bench
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {modbus_port}
    devices:
      - name: meter
        unit: 1
        poll_ms: {poll_ms}
        tags:
{tags}
"""


def record(section, **figures):
    """Adds `figures` under `section` in the results file (merging with what
    the section already holds)."""
    path = os.environ.get("RAILGATE_BENCH_RESULTS")
    if not path:
        return
    path = Path(path)
    results = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault(section, {}).update(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "record":
        sys.exit("usage: benchlib.py record SECTION key=value ...")
    record(sys.argv[2], **{k: _number(v) for k, v in (arg.split("=", 1) for arg in sys.argv[3:])})
