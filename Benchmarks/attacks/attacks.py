#!/usr/bin/env python3
"""Hostile inputs against a running Railgate, with figures: what each costs the gateway
(resident memory before, peak and after; time; whether it survived and kept serving).

    python3 Benchmarks/attacks/attacks.py [--railgate PATH] [NAME ...]

The attacks are those of the robustness work (docs/testing.md, "Fault injection"); the
integration tests assert their bounds, this prints the figures. Loopback only; every loop is
bounded in count and time. Names: variants unfinished translate monitored connections
console-line console-idle aliases tags trickle accept-close (default: all)."""

import argparse
import asyncio
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "Integration"))
sys.path.insert(0, str(ROOT / "Benchmarks"))
parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--railgate", default=str(ROOT / ".build" / "debug" / "railgate"))
parser.add_argument("names", nargs="*")
args = parser.parse_args()
os.environ["RAILGATE_BIN"] = args.railgate

from asyncua import Client, ua  # noqa: E402
from asyncua.ua.ua_binary import nodeid_to_binary, struct_to_binary  # noqa: E402

import conftest  # noqa: E402
from conftest import Processes, free_port, log_of, start_railgate, start_sim_tcp, wait_for_port  # noqa: E402
from test_opcua import BASE, opcua_config, wait_good  # noqa: E402
from test_opcua_limits import RawChannel, recv_message  # noqa: E402
from benchlib import cpu_seconds  # noqa: E402


def status(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def opcua_gateway(procs, extra=""):
    sim = start_sim_tcp(procs)
    port = free_port()
    proc = start_railgate(procs, opcua_config(port, sim, extra_opcua=extra))
    wait_for_port(port)
    time.sleep(1)
    return proc, port


def still_serving(port):
    async def read():
        async with Client(url=f"opc.tcp://127.0.0.1:{port}", timeout=10) as client:
            return (await wait_good(client, f"{BASE}/speed")).Value.Value
    try:
        return asyncio.run(asyncio.wait_for(read(), 30)) == 1450
    except Exception:
        return False


def report(name, proc, before, started, served, extra=""):
    after = status(proc.pid, "VmRSS") if proc.poll() is None else 0
    peak = status(proc.pid, "VmHWM") if proc.poll() is None else 0
    print(f"{name:14} RSS {mib(before)} → peak {mib(peak)}, after {mib(after)}; {time.monotonic() - started:.1f} s; "
          f"survived: {'yes' if proc.poll() is None else 'NO'}; serving others: {'yes' if served else 'NO'}"
          + (f"; {extra}" if extra else ""))


def variants(procs):
    """A 15 MiB WriteRequest whose value is an array of 15 million empty Variants."""
    proc, port = opcua_gateway(procs, "  max_message_size: 16777216")
    before, started = status(proc.pid, "VmRSS"), time.monotonic()
    channel = RawChannel(port)
    header = struct_to_binary(ua.WriteRequest())[:-4]
    value = nodeid_to_binary(ua.NodeId(f"{BASE}/setpoint", 1)) + struct.pack("<I", 13) + struct.pack("<i", -1)
    count = 15_000_000
    body = header + struct.pack("<i", 1) + value + bytes([0x01, 0x98]) + struct.pack("<i", count) + b"\x00" * count
    parts = [body[i:i + 60000] for i in range(0, len(body), 60000)]
    for i, part in enumerate(parts):
        channel.send_chunk(b"F" if i == len(parts) - 1 else b"C", part, request_id=9)
    answer = recv_message(channel.sock)
    channel.close()
    report("variants", proc, before, started, still_serving(port), f"answer {answer[:4].decode()} (ServiceFault)")


def unfinished(procs):
    """30 connections each sending an unfinished 15 MiB request."""
    proc, port = opcua_gateway(procs)
    before, started = status(proc.pid, "VmRSS"), time.monotonic()
    piece = b"\x00" * 65000
    refused = 0
    channels = []
    for _ in range(30):
        try:
            channel = RawChannel(port)
            channels.append(channel)
            for _ in range(int(15 * (1 << 20) / len(piece))):
                channel.send_chunk(b"C", piece)
        except (OSError, AssertionError, EOFError):
            refused += 1
    served = still_serving(port)
    report("unfinished", proc, before, started, served, f"{refused} of 30 connections refused")
    for channel in channels:
        channel.close()


def translate(procs):
    """TranslateBrowsePathsToNodeIds with ten element pairs of every reference."""
    proc, port = opcua_gateway(procs)
    before, started = status(proc.pid, "VmRSS"), time.monotonic()

    async def attack():
        async with Client(url=f"opc.tcp://127.0.0.1:{port}", timeout=60) as client:
            elements = []
            for _ in range(10):
                for name in ("acme", "plant1"):
                    element = ua.RelativePathElement()
                    element.ReferenceTypeId = ua.NodeId(33)  # HierarchicalReferences
                    element.IncludeSubtypes = True
                    element.IsInverse = False
                    element.TargetName = ua.QualifiedName(name, 1)
                    elements.append(element)
                inverse = ua.RelativePathElement()
                inverse.ReferenceTypeId = ua.NodeId(33)
                inverse.IncludeSubtypes = True
                inverse.IsInverse = True
                inverse.TargetName = ua.QualifiedName("Objects", 0)
                elements.append(inverse)
            path = ua.BrowsePath()
            path.StartingNode = ua.NodeId(85)
            path.RelativePath = ua.RelativePath()
            path.RelativePath.Elements = elements
            params = ua.TranslateBrowsePathsToNodeIdsParameters()
            params.BrowsePaths = [path]
            try:
                await client.uaclient.translate_browsepaths_to_nodeids(params.BrowsePaths)
            except Exception as error:
                return repr(error)[:60]
            return "answered"
    outcome = asyncio.run(asyncio.wait_for(attack(), 120))
    report("translate", proc, before, started, still_serving(port), outcome)


def monitored(procs):
    """20 000 monitored items in one subscription, no Publish ever sent."""
    proc, port = opcua_gateway(procs)
    before, started = status(proc.pid, "VmRSS"), time.monotonic()

    async def attack():
        client = Client(url=f"opc.tcp://127.0.0.1:{port}", timeout=60)
        await client.connect()
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = 100
        params.RequestedLifetimeCount = 100000
        params.RequestedMaxKeepAliveCount = 1000
        params.PublishingEnabled = True
        subscription = await client.uaclient.create_subscription(params, callback=lambda *a: None)
        node = ua.NodeId(f"{BASE}/speed", 1)
        created = 0
        for _ in range(20):
            items = []
            for handle in range(1000):
                item = ua.MonitoredItemCreateRequest()
                item.ItemToMonitor = ua.ReadValueId()
                item.ItemToMonitor.NodeId = node
                item.ItemToMonitor.AttributeId = ua.AttributeIds.Value
                item.MonitoringMode = ua.MonitoringMode.Reporting
                item.RequestedParameters = ua.MonitoringParameters()
                item.RequestedParameters.ClientHandle = handle
                item.RequestedParameters.SamplingInterval = 0
                item.RequestedParameters.QueueSize = 1000
                items.append(item)
            request = ua.CreateMonitoredItemsParameters()
            request.SubscriptionId = subscription.SubscriptionId
            request.ItemsToCreate = items
            try:
                results = await client.uaclient.create_monitored_items(request)
                created += sum(1 for r in results if r.StatusCode.is_good())
            except Exception:
                break
        await asyncio.sleep(10)  # values queue with nobody publishing
        client.uaclient.protocol.transport.abort()
        return created
    created = asyncio.run(asyncio.wait_for(attack(), 180))
    report("monitored", proc, before, started, still_serving(port), f"{created} of 20 000 items created")


def connections(procs):
    """1000 connections opened and left open."""
    proc, port = opcua_gateway(procs)
    before, started = status(proc.pid, "VmRSS"), time.monotonic()
    sockets, refused = [], 0
    for _ in range(1000):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            refused += 1
    time.sleep(1)
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    served = False
    for s in sockets:
        s.close()
    served = still_serving(port)
    report("connections", proc, before, started, served, f"descriptors while held: {fds}; {refused} refused at connect")


def console_gateway(procs):
    sim = start_sim_tcp(procs)
    sock = procs.tmp / "control.sock"
    text = conftest.gateway_yaml("atk", 1, conftest.tcp_bus_yaml("tcp1", sim, "meter")).replace(
        "south:", f"console: {{socket: {sock}, history_dir: {procs.tmp / 'history'}}}\nsouth:")
    proc = start_railgate(procs, text)
    deadline = time.monotonic() + 20
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc, sock


def console_answers(sock):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(sock))
            s.sendall(b'{"line": "show status"}\n')
            return b'"ok"' in s.recv(65536)
    except OSError:
        return False


def console_line(procs):
    """A 100 MB line sent to the control socket."""
    proc, sock = console_gateway(procs)
    before, started, cpu = status(proc.pid, "VmRSS"), time.monotonic(), cpu_seconds(proc.pid)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock))
        sent = 0
        try:
            while sent < 100_000_000:
                s.sendall(b"x" * 16384)
                sent += 16384
        except OSError:
            pass
    report("console-line", proc, before, started, console_answers(sock),
           f"{sent / 1e6:.1f} MB taken before the connection was closed; CPU {cpu_seconds(proc.pid) - cpu:.2f} s")


def console_idle(procs):
    """300 idle control-socket connections."""
    proc, sock = console_gateway(procs)
    before, started, base = status(proc.pid, "VmRSS"), time.monotonic(), threads(proc.pid)
    held = []
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(sock))
            held.append(s)
        except OSError:
            s.close()
    time.sleep(1)
    during = threads(proc.pid)
    for s in held:
        s.close()
    time.sleep(1)
    report("console-idle", proc, before, started, console_answers(sock), f"threads {base} → {during} while held")


def check(text, name):
    work = Path(tempfile.mkdtemp())
    path = work / f"{name}.yaml"
    path.write_text(text)
    started = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", args.railgate, "check", "--config", path],
                         capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    peak = run.stderr.strip().splitlines()[-1]
    message = (run.stdout + run.stderr).strip().splitlines()[0][:110]
    print(f"{name:14} railgate check: exit {run.returncode} in {elapsed:.2f} s, peak RSS {int(peak) // 1024} MiB; {message}")


def aliases(_procs):
    """3.2 KB of YAML aliases expanding 100 × 100 × 100 × 100."""
    a = "a: &a [" + ", ".join(["x"] * 100) + "]\n"
    b = "b: &b [" + ", ".join(["*a"] * 100) + "]\n"
    c = "c: &c [" + ", ".join(["*b"] * 100) + "]\n"
    d = "d: &d [" + ", ".join(["*c"] * 100) + "]\n"
    check(a + b + c + d, "aliases")


def tags(_procs):
    """20 000 tags on one device."""
    rows = "\n".join(f"          - {{name: r{i}, table: holding-register, address: {i % 65000}}}" for i in range(20000))
    text = f"""gateway: {{id: t, isa95: {{enterprise: acme}}}}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: 1502
    devices:
      - name: d
        unit: 1
        tags:
{rows}
"""
    check(text, "tags")


def trickle(procs):
    """A Modbus TCP device answering one octet every 0.5 s."""
    from test_modbus_misbehaving import MisbehavingDevice
    device = MisbehavingDevice("trickle", delay=0.5)
    broker = free_port()
    conftest.start_broker(procs, broker)
    started = time.monotonic()
    proc = start_railgate(procs, conftest.gateway_yaml("atk", broker, conftest.tcp_bus_yaml(
        "slow", device.port, "slow_meter", "timeout_ms: 1000")))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "bad: timeout" not in log_of(proc):
        time.sleep(0.1)
    print(f"{'trickle':14} first read ends as timeout after {time.monotonic() - started:.1f} s (timeout_ms 1000); "
          f"survived: {'yes' if proc.poll() is None else 'NO'}")
    device.close()


def accept_close(procs):
    """A port that accepts every connection and closes it at once."""
    port = free_port()
    procs.start(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "SYSTEM:true"], "accept-close")
    wait_for_port(port)
    broker = free_port()
    conftest.start_broker(procs, broker)
    proc = start_railgate(procs, conftest.gateway_yaml("atk", broker, conftest.tcp_bus_yaml("flaky", port, "meter")))
    time.sleep(6)
    lines = log_of(proc).count("\n")
    connects = log_of(proc).count("connect")
    print(f"{'accept-close':14} 6 s: {lines} log lines, {connects} mentioning connect; "
          f"survived: {'yes' if proc.poll() is None else 'NO'}")


ATTACKS = {f.__name__.replace("_", "-"): f for f in (variants, unfinished, translate, monitored, connections,
                                                      console_line, console_idle, aliases, tags, trickle, accept_close)}

if __name__ == "__main__":
    for name in args.names or ATTACKS:
        work = Path(tempfile.mkdtemp(prefix=f"railgate-attack-{name}-"))
        procs = Processes(work)
        try:
            ATTACKS[name](procs)
        except Exception as error:
            print(f"{name:14} could not be measured: {error!r}")
        finally:
            procs.stop_all()
