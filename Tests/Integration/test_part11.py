"""21 CFR Part 11 mode end to end: every write needs a reason — console `-- REASON`, OPC UA
RequestHeader.auditEntryId (asyncua), Sparkplug is covered by the same write router — and the
audit trail keeps it with the old and new value; a commit needs its reason and an electronic
signature (signer and password from console.signers), a wrong one is refused and audited;
`railgate audit export --format csv` writes a copy of the verified trail, and refuses a broken
one; the newest audit entry's hash is retained on the broker beside the status topic."""

import asyncio
import csv
import io
import json
import subprocess

from asyncua import Client, ua
from asyncua.ua.ua_binary import struct_from_binary

from conftest import (RAILGATE, console_lines, free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp,
                      tcp_bus_yaml, wait_for, wait_for_port)

BASE = "acme/meter1"
TAGS = ("{name: setpoint, ref: 400011, writable: true}", "{name: speed, ref: 400006}")
PASSWORD = "correct horse battery"


def hash_password(password):
    result = subprocess.run([RAILGATE, "hash-password"], input=password + "\n", capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout.strip().splitlines()[-1]


console = console_lines


def entries(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def write_with_reason(client, node_id, value, reason):
    request = ua.WriteRequest()
    if reason is not None:
        request.RequestHeader.AuditEntryId = reason
    request.Parameters.NodesToWrite = [ua.WriteValue(NodeId=ua.NodeId.from_string(node_id),
                                                     AttributeId=ua.AttributeIds.Value,
                                                     Value=ua.DataValue(ua.Variant(value, ua.VariantType.UInt16)))]
    data = await client.uaclient.session._send_request(request)
    response = struct_from_binary(ua.WriteResponse, data)
    response.ResponseHeader.ServiceResult.check()
    return response.Results[0]


def test_reasons_signatures_and_the_trail(procs, broker, collector_factory):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    prefix = "rgtest-part11"
    mqtt = collector_factory(f"{prefix}/status/#")
    socket = procs.tmp / "control.sock"
    audit = procs.tmp / "audit.log"
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}",
                        f"isa95: {{enterprise: acme}}, writes: true, part11: true, audit_file: {audit}}}")
    text += f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, anonymous_role: operator}}\n"
    text += (f"console:\n  socket: {socket}\n  history_dir: {procs.tmp}/configs\n"
             f"  signers:\n    - {{name: qa-lead, password_hash: \"{hash_password(PASSWORD)}\"}}\n")
    proc = start_railgate(procs, text)
    wait_for_port(ua_port)
    assert wait_for(lambda: socket.exists()), log_of(proc)

    # Console writes: refused without a reason, done with one; the trail keeps old, new and why.
    out = console(socket, "write tag meter1/setpoint 17")
    assert "Part 11 mode: a write needs a reason" in out, out
    out = console(socket, "write tag meter1/setpoint 18 -- batch 4711 setpoint per deviation DV-0042")
    assert "done" in out, out
    written = [e for e in entries(audit) if e["event"] == "write" and e["details"]["outcome"] == "done"]
    assert written and written[-1]["details"]["value"] == "18.0", written
    assert written[-1]["details"]["reason"] == "batch 4711 setpoint per deviation DV-0042"
    assert "old" in written[-1]["details"], written[-1]
    refused = [e for e in entries(audit) if e["event"] == "write" and "reason" in e["details"]["outcome"]]
    assert refused, entries(audit)

    # OPC UA writes: the request header's auditEntryId is the reason.
    async def opcua():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            node = f"ns=1;s={BASE}/setpoint"
            without = await write_with_reason(client, node, 21, None)
            assert without.value == ua.StatusCodes.BadUserAccessDenied, without
            done = await write_with_reason(client, node, 22, "recipe R-12 step 3")
            assert done.is_good(), done
    asyncio.run(asyncio.wait_for(opcua(), 30))
    opcua_write = [e for e in entries(audit) if e["event"] == "write" and e["user"].startswith("opcua:")
                   and e["details"]["outcome"] == "done"]
    assert opcua_write and opcua_write[-1]["details"]["reason"] == "recipe R-12 step 3", entries(audit)[-3:]
    assert opcua_write[-1]["details"]["old"] == "18", opcua_write[-1]

    # A commit: its reason, then a signature; a wrong password is refused and audited.
    out = console(socket, "configure", "set mqtt.qos 0", "commit", "exit")
    assert "Part 11 mode: a commit needs its reason" in out, out
    out = console(socket, "configure", "set mqtt.qos 0", "commit lower QoS for the line test", "qa-lead", "guess", "exit")
    assert "signature refused" in out and "commit complete" not in out, out
    assert any(e["event"] == "signature refused" and e["details"]["signer"] == "qa-lead" for e in entries(audit))
    # Three refused signatures end the console session.
    out = console(socket, "configure", "set mqtt.qos 0", *["commit lower QoS", "qa-lead", "guess"] * 3, "show config")
    assert out.count("signature refused") == 3 and "the session ends" in out and "mqtt:" not in out.split("the session ends")[1], out
    out = console(socket, "configure", "set mqtt.qos 0", "commit lower QoS for the line test", "qa-lead", PASSWORD,
                  "exit")
    assert "commit complete" in out, out
    commit = [e for e in entries(audit) if e["event"] == "commit"][-1]
    assert commit["details"]["signed_by"] == "qa-lead" and commit["details"]["comment"] == "lower QoS for the line test"
    assert commit["details"]["signature_meaning"] == "approval of the configuration change"

    # The newest audit entry's hash is on the broker, retained.
    def head():
        last = entries(audit)[-1]
        published = [p for p in mqtt.all(f"{prefix}/status/{prefix}/audit") if isinstance(p, dict)]
        return published and published[-1] == {"seq": last["seq"], "hash": last["hash"]}
    assert wait_for(head, 15), (mqtt.all(f"{prefix}/status/{prefix}/audit"), entries(audit)[-1])

    # A human-readable copy of the verified trail.
    result = subprocess.run([RAILGATE, "audit", "export", "--format", "csv", "--file", audit], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(entries(audit))
    signed = [r for r in rows if r["event"] == "commit"]
    assert signed and signed[-1]["signed_by"] == "qa-lead" and "diff=" in signed[-1]["other_details"]
    reasons = [r["reason"] for r in rows if r["event"] == "write" and r["outcome"] == "done"]
    assert "batch 4711 setpoint per deviation DV-0042" in reasons and "recipe R-12 step 3" in reasons, reasons

    # After all of it the chain verifies.
    verified = subprocess.run([RAILGATE, "audit", "verify", "--file", audit], capture_output=True, text=True, timeout=30)
    assert verified.returncode == 0 and "chain intact" in verified.stdout, verified

    # A trail cut short or altered is not copied.
    lines = audit.read_text().splitlines(keepends=True)
    tampered = procs.tmp / "tampered.log"
    tampered.write_text("".join(lines[:2] + lines[3:]))
    result = subprocess.run([RAILGATE, "audit", "export", "--file", tampered], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and result.stdout == "", result
    assert "chain broken" in result.stderr and "no copy written" in result.stderr, result.stderr


def test_check_refuses_part11_without_its_records(tmp_path):
    text = gateway_yaml("rgtest-part11-check", 1883, tcp_bus_yaml("tcp1", 5020, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}", "isa95: {enterprise: acme}, part11: true}")
    text += f"console: {{socket: {tmp_path}/control.sock}}\n"
    path = tmp_path / "part11.yaml"
    path.write_text(text)
    result = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"{path}:2: gateway.part11: Part 11 mode keeps its records in the audit trail: set gateway.audit_file" in out, out
    assert "console: Part 11 mode signs commits: list console.signers [{name, password_hash}]" in out, out
