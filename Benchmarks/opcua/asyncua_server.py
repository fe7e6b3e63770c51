#!/usr/bin/env python3
"""Reference OPC UA server for scripts/bench: asyncua serving N UInt16
variables on 127.0.0.1, Security None, anonymous. Writes the variables'
NodeIds to --nodes-file once it listens; ends when its parent does."""

import argparse
import asyncio
import logging
import os

from asyncua import Server, ua


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--nodes-file", required=True)
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    parent = os.getppid()
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{args.port}")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:railgate:bench:reference")
    folder = await server.nodes.objects.add_folder(ns, "bench")
    nodes = [await folder.add_variable(ns, f"t{i}", ua.Variant(i, ua.VariantType.UInt16)) for i in range(args.count)]
    async with server:
        with open(args.nodes_file, "w") as f:
            f.write("\n".join(n.nodeid.to_string() for n in nodes) + "\n")
        while os.getppid() == parent:
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    asyncio.run(main())
