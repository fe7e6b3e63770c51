#!/usr/bin/env python3
"""HistoryRead of 100 000 values: Railgate vs the asyncua server (its in-memory HistoryDict),
same asyncua client, same host, both answering at most 10 000 values per response (the client
follows the continuation points). Time to read all of them, and each server's RSS before the
read and at its peak (VmHWM) — Railgate reads from its history file, asyncua from memory.

Railgate's file is written here in the documented format (docs/history-events.md: a 64-byte
header, 40-byte records with CRC-32), so the benchmark also checks that the format on disk is
the one the documentation describes. Every run is bounded in time."""

import argparse
import asyncio
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asyncua import Client, Server, ua

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchlib import free_port, record, stop, wait_port  # noqa: E402

VALUES = 100_000
# Room for the values the gateway adds as it starts (its device's first quality change).
CAPACITY = VALUES + 100
PAGE = 10_000
TAG_PATH = "bench/meter/level"


def history_file(path, values, capacity, end_ns):
    """A Railgate history file with room for `capacity` values, holding `values` float64 values
    one second apart up to `end_ns`."""
    header = bytearray(64)
    header[0:4] = b"RGH1"
    struct.pack_into("<HHQQ", header, 4, 1, 40, capacity, values)
    struct.pack_into("<I", header, 24, zlib.crc32(bytes(header[0:24])))
    body = bytearray(40 * capacity)
    start = end_ns - (values - 1) * 1_000_000_000
    for index in range(values):
        seq = index + 1
        at = start + index * 1_000_000_000
        record_bytes = struct.pack("<QqqdBBBB", seq, at, at, float(index) / 10, 0, 0, 3, 0)
        body[index * 40:index * 40 + 36] = record_bytes
        struct.pack_into("<I", body, index * 40 + 36, zlib.crc32(record_bytes))
    path.write_bytes(bytes(header) + bytes(body))
    return start


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def read_all(url, node_id, start, end):
    async with Client(url=url, timeout=120) as client:
        node = client.get_node(node_id)
        began = time.perf_counter()
        values = await node.read_raw_history(starttime=start, endtime=end, return_bounds=False)
        return time.perf_counter() - began, values


def reference_server(port, ready):
    """The asyncua server with 100 000 values in its in-memory history (child process)."""
    async def serve():
        import logging
        logging.getLogger("asyncua").setLevel(logging.ERROR)
        from asyncua.server.history import HistoryDict
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        storage = HistoryDict()
        storage.max_history_data_response_size = PAGE
        server.iserver.history_manager.set_storage(storage)
        ns = await server.register_namespace("urn:railgate:bench:history")
        level = await server.nodes.objects.add_variable(ns, "level", 0.0)
        await storage.new_historized_node(level.nodeid, None, VALUES)
        start = datetime.now(timezone.utc) - timedelta(seconds=VALUES)
        for index in range(VALUES):
            at = start + timedelta(seconds=index)
            await storage.save_node_value(level.nodeid, ua.DataValue(ua.Variant(index / 10, ua.VariantType.Double),
                                                                     SourceTimestamp=at, ServerTimestamp=at))
        async with server:
            Path(ready).write_text(level.nodeid.to_string())
            parent = os.getppid()
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
    asyncio.run(serve())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "history").mkdir()
        end_ns = time.time_ns() - 1_000_000_000
        start_ns = history_file(work / "history" / (TAG_PATH.replace("/", "+") + ".rgh"), VALUES, CAPACITY, end_ns)
        ua_port, modbus_port, ref_port = free_port(), free_port(), free_port()
        (work / "railgate.yaml").write_text(f"""
gateway: {{id: bench, isa95: {{enterprise: bench}}}}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {modbus_port}
    devices:
      - {{name: meter, unit: 1, poll_ms: 1000, tags: [{{name: level, ref: 400001, type: float64}}]}}
opcua: {{host: 127.0.0.1, port: {ua_port}}}
history:
  dir: {work}/history
  max_read_values: {PAGE}
  tags: [{{tag: meter/level, max_values: {CAPACITY}}}]
""")
        railgate = subprocess.Popen([args.railgate, "run", "--config", work / "railgate.yaml"],
                                    stdout=subprocess.DEVNULL, stderr=open(work / "railgate.log", "w"))
        ready = work / "reference-ready"
        reference = subprocess.Popen([sys.executable, __file__, "--reference", str(ref_port), str(ready)])
        try:
            wait_port(ua_port)
            deadline = time.monotonic() + 180
            while not ready.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not ready.exists():
                raise SystemExit("the asyncua reference server did not start")
            start = datetime.fromtimestamp(start_ns / 1e9, timezone.utc) - timedelta(milliseconds=1)
            end = datetime.fromtimestamp(end_ns / 1e9, timezone.utc) + timedelta(seconds=1)
            results = {}
            for name, pid, url, node in (
                    ("railgate", railgate.pid, f"opc.tcp://127.0.0.1:{ua_port}", f"ns=1;s={TAG_PATH}"),
                    ("asyncua", reference.pid, f"opc.tcp://127.0.0.1:{ref_port}", ready.read_text())):
                rss_before, _ = memory(pid)
                # asyncua's values end when it filled them (after Railgate's file was written).
                first = start if name == "railgate" else datetime.now(timezone.utc) - timedelta(days=2)
                last = end if name == "railgate" else datetime.now(timezone.utc) + timedelta(minutes=1)
                seconds, values = asyncio.run(asyncio.wait_for(read_all(url, node, first, last), 300))
                rss_after, peak = memory(pid)
                good = [v for v in values if v.StatusCode.is_good()]
                if len(good) < VALUES:
                    raise SystemExit(f"{name}: read {len(good)} of {VALUES} values")
                results[name] = (seconds, rss_before, peak, rss_after)
                print(f"{name:9s} {VALUES} values in {seconds:6.2f} s = {VALUES / seconds:8.0f} values/s; "
                      f"RSS {rss_before:.1f} MiB before, peak {peak:.1f} MiB, {rss_after:.1f} MiB after")
            ours, theirs = results["railgate"], results["asyncua"]
            print(f"HistoryRead of {VALUES} values: Railgate {theirs[0] / ours[0]:.1f}x the asyncua server's speed; "
                  f"Railgate's RSS grew {ours[2] - ours[1]:.1f} MiB at its peak (asyncua {theirs[2] - theirs[1]:.1f} MiB)")
            record("history_read", values=VALUES, railgate_s=round(ours[0], 3), asyncua_s=round(theirs[0], 3),
                   ratio=round(theirs[0] / ours[0], 2), railgate_rss_before_mib=round(ours[1], 1),
                   railgate_peak_mib=round(ours[2], 1), asyncua_rss_before_mib=round(theirs[1], 1),
                   asyncua_peak_mib=round(theirs[2], 1))
        finally:
            stop((railgate, reference))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--reference":
        reference_server(int(sys.argv[2]), sys.argv[3])
    else:
        main()
