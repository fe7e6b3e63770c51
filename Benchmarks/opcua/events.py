#!/usr/bin/env python3
"""OPC UA event throughput: one asyncua client writes 1000 tags per Write request for a few
seconds; in Part 11 mode, without a reason, the write router refuses them all (so the Modbus
device is not what is measured), and every refused write is an AuditWriteUpdateEventType; a second asyncua client,
subscribed to those events on the Server object, counts what arrives. Figures: writes answered
per second, events delivered per second, and the share of events delivered (the reference: one
event per write). Bounded in time and count."""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asyncua import Client, ua

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
from benchlib import free_port, meter_config, record, stop, wait_port  # noqa: E402

TAGS = 1000
SECONDS = 5


class Counter:
    def __init__(self):
        self.events = 0
        self.last = 0.0

    def event_notification(self, event):
        self.events += 1
        self.last = time.perf_counter()


async def run(url):
    counter = Counter()
    async with Client(url=url, timeout=60) as listener, Client(url=url, timeout=60) as writer:
        subscription = await listener.create_subscription(50, counter)
        await subscription.subscribe_events(listener.nodes.server,
                                            listener.get_node(ua.ObjectIds.AuditWriteUpdateEventType), queuesize=1000)
        params = ua.WriteParameters()
        params.NodesToWrite = [ua.WriteValue(NodeId=ua.NodeId.from_string(f"ns=1;s=bench/meter/t{i}"),
                                             AttributeId=ua.AttributeIds.Value,
                                             Value=ua.DataValue(ua.Variant(i, ua.VariantType.UInt16)))
                               for i in range(TAGS)]
        writes = 0
        began = time.perf_counter()
        while time.perf_counter() - began < SECONDS and writes < 2_000_000:
            results = await writer.uaclient.write(params)
            writes += len(results)
        elapsed = time.perf_counter() - began
        # Let the last events arrive (at most 10 s).
        deadline = time.perf_counter() + 10
        while counter.events < writes and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        # Events per second: from the first write to the last event's arrival.
        delivered = max(counter.last - began, elapsed)
        return writes, elapsed, counter.events, delivered


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        sim, ua_port = free_port(), free_port()
        procs = [subprocess.Popen([sys.executable, str(ROOT / "scripts/sim/modbus_sim.py"), "--tcp", str(sim)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            wait_port(sim)
            # Writable tags, writes on, Part 11 mode: a write without a reason is refused by the router.
            text = meter_config(sim, TAGS, sections=f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, "
                                                    f"anonymous_role: operator}}", poll_ms=1000)
            text = text.replace("address: ", "writable: true, address: ").replace(
                "isa95: {enterprise: bench}}", f"isa95: {{enterprise: bench}}, writes: true, part11: true, "
                                               f"audit_file: {work / 'audit.log'}}}")
            (work / "railgate.yaml").write_text(text)
            procs.append(subprocess.Popen([args.railgate, "run", "--config", work / "railgate.yaml"],
                                          stdout=subprocess.DEVNULL, stderr=open(work / "railgate.log", "w")))
            wait_port(ua_port)
            writes, elapsed, events, delivered = asyncio.run(asyncio.wait_for(run(f"opc.tcp://127.0.0.1:{ua_port}"), 120))
            print(f"{writes} writes refused in {elapsed:.1f} s = {writes / elapsed:.0f} writes/s; {events} events "
                  f"delivered = {events / delivered:.0f} events/s, {events / max(writes, 1):.3f} of one per write")
            record("opcua_events", writes=writes, writes_per_s=round(writes / elapsed),
                   events=events, events_per_s=round(events / delivered), delivered_share=round(events / max(writes, 1), 4))
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
