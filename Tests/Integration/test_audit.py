"""The hash-chained audit trail: a write through OPC UA is recorded with who
and what, and `railgate audit verify` detects an edited entry."""

import asyncio
import json
import subprocess

from asyncua import Client, ua

from conftest import RAILGATE, free_port, log_of, start_railgate, start_sim_tcp, stop_gracefully, wait_for_port


def test_writes_are_chained_and_tampering_is_detected(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    ua_port = free_port()
    trail = tmp_path / "audit.log"
    proc = start_railgate(procs, f"""
gateway: {{id: audit-gw, isa95: {{enterprise: acme}}, writes: true, audit_file: {trail}}}
opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true}}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: plc, unit: 1, poll_ms: 100, tags: [{{name: setpoint, ref: 400041, writable: true}}]}}
""")
    wait_for_port(ua_port)

    async def write():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            node = client.get_node("ns=1;s=acme/plc/setpoint")
            for _ in range(50):
                if (await node.read_data_value(raise_on_bad_status=False)).StatusCode.is_good():
                    break
                await asyncio.sleep(0.1)
            await node.write_value(ua.DataValue(ua.Variant(640, ua.VariantType.UInt16)))
    asyncio.run(asyncio.wait_for(write(), 30))
    assert stop_gracefully(proc) == 0

    entries = [json.loads(line) for line in trail.read_text().splitlines()]
    assert [e["event"] for e in entries] == ["start", "write", "stop"], log_of(proc)
    assert entries[0]["details"]["config_sha256"] and len(entries[0]["details"]["config_sha256"]) == 64
    write_entry = entries[1]
    assert write_entry["user"].startswith("opcua:anonymous@")
    assert write_entry["details"] == {"tag": "acme/plc/setpoint", "value": "640.0", "outcome": "done", "old": "500"}
    assert write_entry["prev"] == entries[0]["hash"]

    ok = subprocess.run([str(RAILGATE), "audit", "verify", "--file", str(trail)], capture_output=True, text=True)
    assert ok.returncode == 0 and "3 entries, chain intact" in ok.stdout

    lines = trail.read_text().splitlines()
    lines[1] = lines[1].replace('"value":"640.0"', '"value":"6.0"')
    trail.write_text("\n".join(lines) + "\n")
    bad = subprocess.run([str(RAILGATE), "audit", "verify", "--file", str(trail)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"{trail}:2: entry 2 was altered" in bad.stderr
