#!/usr/bin/env python3
"""Memory of Railgate's OPC UA server: RSS growth per session and per 1000
monitored items, read from /proc/PID/status while asyncua clients connect."""

import argparse
import asyncio

from asyncua import Client


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--nodes-file", required=True)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--items", type=int, default=10000)
    args = parser.parse_args()
    nodes = [line.strip() for line in open(args.nodes_file) if line.strip()]
    await asyncio.sleep(1)
    base = rss_kib(args.pid)
    clients = []
    for _ in range(args.sessions):
        client = Client(url=args.url)
        await client.connect()
        clients.append(client)
    await asyncio.sleep(1)
    with_sessions = rss_kib(args.pid)
    subscription = await clients[0].create_subscription(1000, None)
    created = 0
    while created < args.items:
        batch = [clients[0].get_node(nodes[(created + i) % len(nodes)]) for i in range(min(1000, args.items - created))]
        await subscription.subscribe_data_change(batch, queuesize=1)
        created += len(batch)
    await asyncio.sleep(2)
    with_items = rss_kib(args.pid)
    print(f"rss_base_kib={base} per_session_kib={(with_sessions - base) / args.sessions:.1f} "
          f"per_1000_items_kib={(with_items - with_sessions) / (args.items / 1000):.1f}")
    for client in clients:
        await client.disconnect()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 300))
