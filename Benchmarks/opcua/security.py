#!/usr/bin/env python3
"""The cost of OPC UA security on Railgate's server, same server, same client
(asyncua), same host: Security None against Basic256Sha256 and
Aes256_Sha256_RsaPss with SignAndEncrypt, and Basic256Sha256 with Sign.

1. Handshake: Hello, OpenSecureChannel, CreateSession, ActivateSession and
   CloseSession (asyncua connect + disconnect), 20 times: wall time each and
   Railgate's CPU time each (every thread's time on CPU, /proc schedstat).
2. Reads of 100 nodes per request for a few seconds: requests/s seen by the
   client and Railgate's CPU time per request.
Ratios are against Security None. asyncua is slower than Railgate, so the
client-side rate mostly measures asyncua; Railgate's CPU per request is the
server's own cost. Every loop is bounded in count and time."""

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyAes256Sha256RsaPss, SecurityPolicyBasic256Sha256

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from benchlib import build_modbus, cpu_seconds, free_port, meter_config, record, wait_port  # noqa: E402

VARIABLES = 100
CASES = [("None", None, None),
         ("Basic256Sha256 Sign", SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.Sign),
         ("Basic256Sha256 SignAndEncrypt", SecurityPolicyBasic256Sha256, ua.MessageSecurityMode.SignAndEncrypt),
         ("Aes256_Sha256_RsaPss SignAndEncrypt", SecurityPolicyAes256Sha256RsaPss, ua.MessageSecurityMode.SignAndEncrypt)]


async def client_for(url, work, policy, mode):
    client = Client(url, timeout=10)
    client.application_uri = "urn:railgate:bench:client"
    if policy:
        await client.set_security(policy, str(work / "client-cert.pem"), str(work / "client-key.pem"), mode=mode)
    return client


async def measure(url, work, pid, policy, mode, handshakes, seconds):
    times, cpu0 = [], cpu_seconds(pid)
    for _ in range(handshakes):
        client = await client_for(url, work, policy, mode)
        started = time.perf_counter()
        await client.connect()
        await client.disconnect()
        times.append(time.perf_counter() - started)
    handshake_cpu = (cpu_seconds(pid) - cpu0) / handshakes
    client = await client_for(url, work, policy, mode)
    async with client:
        nodes = [client.get_node(f"ns=1;s=bench/meter/t{i}") for i in range(VARIABLES)]
        await client.read_values(nodes)
        done, cpu0, started = 0, cpu_seconds(pid), time.perf_counter()
        while time.perf_counter() - started < seconds:
            await client.read_values(nodes)
            done += 1
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu0
    times.sort()
    return {"handshake_ms": times[len(times) // 2] * 1000, "handshake_cpu_ms": handshake_cpu * 1000,
            "reads_per_s": done / elapsed, "cpu_us_per_read": cpu / done * 1e6}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--handshakes", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="rg-ua-sec-") as tmp:
        work = Path(tmp)
        build_modbus(work, names=("server",))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work / "client-key.pem",
                        "-out", work / "client-cert.pem", "-days", "2", "-subj", "/CN=bench client",
                        "-addext", "subjectAltName=URI:urn:railgate:bench:client"], check=True, capture_output=True)
        trusted = work / "pki" / "trusted" / "certs"
        trusted.mkdir(parents=True)
        subprocess.run(["openssl", "x509", "-in", work / "client-cert.pem", "-outform", "der", "-out",
                        trusted / "client.der"], check=True)
        procs = []
        try:
            modbus_port, ua_port = free_port(), free_port()
            procs.append(subprocess.Popen([work / "server", str(modbus_port), "600"], stdout=subprocess.DEVNULL))
            wait_port(modbus_port)
            (work / "ua.yaml").write_text(meter_config(
                modbus_port, VARIABLES,
                f"opcua: {{host: 127.0.0.1, port: {ua_port}, security: {{pki_dir: {work / 'pki'}}}}}"))
            gateway = subprocess.Popen([args.railgate, "run", "--config", work / "ua.yaml"], stdout=subprocess.DEVNULL,
                                       stderr=open(work / "railgate.log", "w"))
            procs.append(gateway)
            wait_port(ua_port)
            time.sleep(1)
            url = f"opc.tcp://127.0.0.1:{ua_port}"
            results = {}
            for name, policy, mode in CASES:
                results[name] = asyncio.run(asyncio.wait_for(
                    measure(url, work, gateway.pid, policy, mode, args.handshakes, args.seconds), 300))
        finally:
            for p in procs:
                p.kill()
    base = results["None"]
    print(f"{'security':<38} {'handshake ms':>12} {'server CPU ms':>13} {'reads/s':>8} {'server CPU µs/read':>18}"
          f" {'vs None':>8}")
    for name, r in results.items():
        print(f"{name:<38} {r['handshake_ms']:>12.1f} {r['handshake_cpu_ms']:>13.2f} {r['reads_per_s']:>8.0f}"
              f" {r['cpu_us_per_read']:>18.0f} {r['cpu_us_per_read'] / base['cpu_us_per_read']:>7.2f}x")
    print(f"(reads of {VARIABLES} nodes per request by one asyncua client; handshake = connect + disconnect, median"
          f" of {args.handshakes}; 'vs None' = server CPU per read)")
    record("opcua_security", **{name.replace(" ", "_"): {k: round(v, 2) for k, v in r.items()}
                                for name, r in results.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
