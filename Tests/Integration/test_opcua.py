"""The OPC UA server against asyncua (client library and its command-line
tools), with tags fed by the pymodbus simulator."""

import asyncio
import socket
import struct
import subprocess

import pytest
from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from conftest import free_port, log_of, start_railgate, start_sim_tcp, wait_for, wait_for_port

BASE = "acme/plant1/line3/meter1"


def opcua_config(ua_port, sim_port, writes=False, extra_opcua="", extra_gateway=""):
    return f"""
gateway:
  id: ua-test
  isa95: {{enterprise: acme, site: plant1, line: line3}}
  writes: {str(writes).lower()}
opcua:
  host: 127.0.0.1
  port: {ua_port}
  writes: {str(writes).lower()}
{extra_opcua}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - name: meter1
        unit: 1
        poll_ms: 100
        tags:
          - {{name: voltage, ref: 400001, type: float32, unit: V, range: [0, 400]}}
          - {{name: speed, ref: 400006, unit: r/min}}
          - {{name: running, ref: 400017, type: bool, bit: 0}}
          - {{name: serial, ref: 400021, type: string, length: 8}}
          - {{name: setpoint, ref: 400041, writable: true}}
          - {{name: temp_sp, ref: 400042, type: float32, writable: true}}
          - {{name: beyond, ref: 400151}}
"""


@pytest.fixture
def server(procs, request):
    """Railgate with OPC UA on a free port over a fresh simulator."""
    marker = request.node.get_closest_marker("gateway")
    options = marker.kwargs if marker else {}
    sim_port = start_sim_tcp(procs)
    ua_port = free_port()
    proc = start_railgate(procs, opcua_config(ua_port, sim_port, **options))
    wait_for_port(ua_port)
    return f"opc.tcp://127.0.0.1:{ua_port}", proc, sim_port


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def node_id(path):
    return f"ns=1;s={path}"


async def wait_good(client, path, timeout=15):
    node = client.get_node(node_id(path))
    for _ in range(int(timeout / 0.1)):
        value = await node.read_data_value(raise_on_bad_status=False)
        if value.StatusCode.is_good():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never became good")


def test_endpoints_browse_and_read(server):
    url, proc, _ = server

    async def scenario():
        async with Client(url=url) as client:
            endpoints = await client.get_endpoints()
            assert [e.SecurityPolicyUri for e in endpoints] == ["http://opcfoundation.org/UA/SecurityPolicy#None"]
            assert endpoints[0].EndpointUrl == url
            # Browse the whole tree from Root: every tag and device health variable is reachable.
            seen = set()

            async def walk(node, depth):
                for child in await node.get_children():
                    key = child.nodeid.to_string()
                    if key in seen or depth > 12:
                        continue
                    seen.add(key)
                    await walk(child, depth + 1)
            await walk(client.nodes.root, 0)
            for name in ["voltage", "speed", "running", "serial", "setpoint", "temp_sp", "beyond",
                         "#Status", "#Requests", "#Errors", "#LastError", "#CycleTimeMs"]:
                path = f"{BASE}/{name}" if not name.startswith("#") else f"{BASE}{name}"
                assert f"ns=1;s={path}" in seen, path
            assert "i=2256" in seen  # Server.ServerStatus
            # ISA-95 folders in order.
            acme = client.get_node(node_id("acme"))
            assert (await acme.read_browse_name()).Name == "acme"
            assert [c.nodeid.to_string() for c in await acme.get_children()] == ["ns=1;s=acme/plant1"]

            voltage = await wait_good(client, f"{BASE}/voltage")
            assert voltage.Value.Value == 230.5
            assert voltage.Value.VariantType == ua.VariantType.Float
            assert voltage.SourceTimestamp is not None
            assert await client.get_node(node_id(f"{BASE}/speed")).read_value() == 1450
            assert await client.get_node(node_id(f"{BASE}/running")).read_value() is True
            assert await client.get_node(node_id(f"{BASE}/serial")).read_value() == "RG-METER-01"
            # EngineeringUnits with the UNECE unitId; EU range as configured.
            units = await client.get_node(node_id(f"{BASE}/voltage#EngineeringUnits")).read_value()
            assert units.DisplayName.Text == "V" and units.UnitId == 5655636  # UNECE VLT
            # `unit: r/min` (a symbol two UNECE codes share) is RPM, with its symbol and description.
            units = await client.get_node(node_id(f"{BASE}/speed#EngineeringUnits")).read_value()
            assert (units.UnitId, units.DisplayName.Text, units.Description.Text) == (5394509, "r/min", "revolutions per minute")
            eu_range = await client.get_node(node_id(f"{BASE}/voltage#EURange")).read_value()
            assert (eu_range.Low, eu_range.High) == (0, 400)
            # A tag whose read fails with exception 2 reads BadDeviceFailure.
            beyond = await client.get_node(node_id(f"{BASE}/beyond")).read_data_value(raise_on_bad_status=False)
            assert beyond.StatusCode.value == ua.StatusCodes.BadDeviceFailure
            assert await client.get_node(node_id(f"{BASE}#Status")).read_value() in ("good", "bad: exception 2")
            assert await client.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value() == 0
            ns = await client.get_namespace_array()
            assert ns == ["http://opcfoundation.org/UA/", "urn:railgate:ua-test", "http://www.OPCFoundation.org/UA/2013/01/ISA95",
                          "urn:railgate:types"]
            # TranslateBrowsePaths from Objects.
            target = await client.nodes.objects.get_child(["1:acme", "1:plant1", "1:line3", "1:meter1", "1:speed"])
            assert target.nodeid.to_string() == f"ns=1;s={BASE}/speed"
            # Unknown node and attribute.
            bad = await client.get_node("ns=1;s=nope").read_attribute(ua.AttributeIds.Value, raise_on_bad_status=False)
            assert bad.StatusCode.value == ua.StatusCodes.BadNodeIdUnknown
    run(scenario())


def test_subscription_sees_simulator_changes(server):
    url, proc, sim_port = server

    class Changes:
        def __init__(self):
            self.values = []

        def datachange_notification(self, node, value, data):
            self.values.append((node.nodeid.to_string(), value))

    async def scenario():
        async with Client(url=url) as client:
            await wait_good(client, f"{BASE}/speed")
            changes = Changes()
            subscription = await client.create_subscription(100, changes)
            speed = client.get_node(node_id(f"{BASE}/speed"))
            await subscription.subscribe_data_change([speed])
            for _ in range(50):
                if changes.values:
                    break
                await asyncio.sleep(0.1)
            assert changes.values[0] == (f"ns=1;s={BASE}/speed", 1450)
            modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
            assert modbus.connect()
            modbus.write_register(5, 1612, device_id=1)
            modbus.close()
            for _ in range(50):
                if (f"ns=1;s={BASE}/speed", 1612) in changes.values:
                    break
                await asyncio.sleep(0.1)
            assert (f"ns=1;s={BASE}/speed", 1612) in changes.values
            await subscription.delete()
    run(scenario())


def test_deadband_filter_suppresses_small_changes(server):
    url, proc, sim_port = server

    class Changes:
        def __init__(self):
            self.values = []

        def datachange_notification(self, node, value, data):
            self.values.append(value)

    async def scenario():
        async with Client(url=url) as client:
            await wait_good(client, f"{BASE}/voltage")
            changes = Changes()
            subscription = await client.create_subscription(50, changes)
            voltage = client.get_node(node_id(f"{BASE}/voltage"))
            # 1 % of the 0…400 V range = 4 V.
            await subscription.deadband_monitor(voltage, 1.0, deadbandtype=2)
            for _ in range(50):
                if changes.values:
                    break
                await asyncio.sleep(0.1)
            modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
            assert modbus.connect()
            for value in (232.0, 237.0):
                raw = struct.pack(">f", value)
                modbus.write_registers(0, [int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")], device_id=1)
                await asyncio.sleep(1.0)
            modbus.close()
            assert changes.values[0] == 230.5
            assert 232.0 not in changes.values and 237.0 in changes.values
    run(scenario())


@pytest.mark.gateway(writes=True)
def test_write_reaches_the_modbus_device(server):
    url, proc, sim_port = server

    async def scenario():
        async with Client(url=url) as client:
            setpoint = client.get_node(node_id(f"{BASE}/setpoint"))
            await wait_good(client, f"{BASE}/setpoint")
            await setpoint.write_value(ua.DataValue(ua.Variant(612, ua.VariantType.UInt16)))
            await client.get_node(node_id(f"{BASE}/temp_sp")).write_value(
                ua.DataValue(ua.Variant(21.5, ua.VariantType.Float)))
            # A read-only tag and a wrong type are refused.
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await client.get_node(node_id(f"{BASE}/speed")).write_value(
                    ua.DataValue(ua.Variant(1, ua.VariantType.UInt16)))
            assert refused.value.code == ua.StatusCodes.BadNotWritable
            with pytest.raises(ua.UaStatusCodeError) as mismatch:
                await setpoint.write_value(ua.DataValue(ua.Variant("x", ua.VariantType.String)))
            assert mismatch.value.code == ua.StatusCodes.BadTypeMismatch
            with pytest.raises(ua.UaStatusCodeError) as too_big:
                await setpoint.write_value(ua.DataValue(ua.Variant(70000, ua.VariantType.UInt32)))
            assert too_big.value.code == ua.StatusCodes.BadOutOfRange
    run(scenario())
    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()
    registers = modbus.read_holding_registers(40, count=3, device_id=1).registers
    modbus.close()
    assert registers[0] == 612
    assert struct.unpack(">f", struct.pack(">HH", registers[1], registers[2]))[0] == 21.5
    log = log_of(proc)
    assert "railgate.audit" in log and "opcua:anonymous" in log and f"tag={BASE}/setpoint" in log


def test_writes_are_refused_when_not_enabled(server):
    url, proc, _ = server

    async def scenario():
        async with Client(url=url) as client:
            with pytest.raises(ua.UaStatusCodeError) as refused:
                await client.get_node(node_id(f"{BASE}/setpoint")).write_value(
                    ua.DataValue(ua.Variant(1, ua.VariantType.UInt16)))
            assert refused.value.code == ua.StatusCodes.BadNotWritable
    run(scenario())


def test_command_line_tools(server):
    url, proc, _ = server

    async def ready():
        async with Client(url=url) as client:
            await wait_good(client, f"{BASE}/speed")
    run(ready())
    listing = subprocess.run(["uals", "-u", url, "-n", "ns=1;s=acme/plant1/line3/meter1", "-l", "0"],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "speed" in listing.stdout and "voltage" in listing.stdout
    value = subprocess.run(["uaread", "-u", url, "-n", f"ns=1;s={BASE}/speed"],
                           capture_output=True, text=True, timeout=60)
    assert value.returncode == 0, value.stderr
    assert "1450" in value.stdout


def raw_exchange(port, payload, read=True):
    """Sends raw bytes; returns what the server answers before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        data = b""
        if read:
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except socket.timeout:
                pass
        return data


def hello(buffer=65535, url="opc.tcp://x"):
    body = struct.pack("<IIIII", 0, buffer, buffer, 0, 0) + struct.pack("<i", len(url)) + url.encode()
    return b"HELF" + struct.pack("<I", 8 + len(body)) + body


def error_code(answer):
    assert answer[:4] == b"ERRF", answer[:16]
    return struct.unpack("<I", answer[8:12])[0]


def test_malformed_input_gets_an_error_and_never_disturbs_others(server):
    url, proc, _ = server
    port = int(url.rsplit(":", 1)[1])

    async def scenario():
        async with Client(url=url) as client:
            speed = client.get_node(node_id(f"{BASE}/speed"))
            await wait_good(client, f"{BASE}/speed")
            # Unknown message type.
            assert error_code(raw_exchange(port, b"XYZF\x10\x00\x00\x00" + b"\x00" * 8)) == 0x807E0000
            # A chunk announced larger than the buffer: refused from its header.
            assert error_code(raw_exchange(port, b"HELF" + struct.pack("<I", 10_000_000))) == 0x80800000
            # A message before Hello.
            assert error_code(raw_exchange(port, b"MSGF\x0c\x00\x00\x00\x01\x00\x00\x00")) == 0x807E0000
            # A truncated Hello body.
            assert error_code(raw_exchange(port, b"HELF\x0c\x00\x00\x00\x00\x00\x00\x00")) == 0x80070000
            # Hello, then an OpenSecureChannel with an unknown policy.
            policy = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"
            opn = struct.pack("<I", 0) + struct.pack("<i", len(policy)) + policy + struct.pack("<ii", -1, -1)
            opn += struct.pack("<II", 1, 1)
            answer = raw_exchange(port, hello() + b"OPNF" + struct.pack("<I", 8 + len(opn)) + opn)
            assert answer[:4] == b"ACKF"
            assert error_code(answer[28:]) == 0x80550000  # BadSecurityPolicyRejected
            # Garbage bytes: closed with an error, no crash.
            raw_exchange(port, bytes(range(256)) * 4)
            # The established session still works, and polling goes on.
            assert await speed.read_value() == 1450
            before = await client.get_node(node_id(f"{BASE}#Requests")).read_value()
            await asyncio.sleep(0.5)
            assert await client.get_node(node_id(f"{BASE}#Requests")).read_value() > before
    run(scenario())
    assert proc.poll() is None


def test_invalid_requests_get_bad_status_codes(server):
    url, proc, _ = server

    async def scenario():
        async with Client(url=url) as client:
            # An invalid attribute id and an unknown NodeId in one Read.
            params = ua.ReadParameters()
            params.NodesToRead = [ua.ReadValueId(), ua.ReadValueId()]
            params.NodesToRead[0].NodeId = ua.NodeId(2256, 0)
            params.NodesToRead[0].AttributeId = 99
            params.NodesToRead[1].NodeId = ua.NodeId("nope", 1)
            params.NodesToRead[1].AttributeId = ua.AttributeIds.Value
            results = await client.uaclient.read(params)
            assert [r.StatusCode.value for r in results] == [ua.StatusCodes.BadAttributeIdInvalid,
                                                             ua.StatusCodes.BadNodeIdUnknown]
            # An empty Read is BadNothingToDo.
            with pytest.raises(ua.UaStatusCodeError) as nothing:
                await client.uaclient.read(ua.ReadParameters())
            assert nothing.value.code == ua.StatusCodes.BadNothingToDo
            # A method the server does not offer (GetMonitoredItems) is BadMethodInvalid.
            call = ua.CallMethodRequest()
            call.ObjectId = ua.NodeId(85, 0)
            call.MethodId = ua.NodeId(11492, 0)
            results = await client.uaclient.call([call])
            assert results[0].StatusCode.value == ua.StatusCodes.BadMethodInvalid
            # A service Railgate does not implement (AddNodes) is BadServiceUnsupported.
            with pytest.raises(ua.UaStatusCodeError) as unsupported:
                await client.uaclient.add_nodes([ua.AddNodesItem()])
            assert unsupported.value.code == ua.StatusCodes.BadServiceUnsupported
            # Monitoring a node that does not exist.
            subscription = await client.create_subscription(100, None)
            with pytest.raises(ua.UaStatusCodeError) as unknown:
                await subscription.subscribe_data_change(client.get_node("ns=1;s=nope"))
            assert unknown.value.code == ua.StatusCodes.BadNodeIdUnknown
    run(scenario())


@pytest.mark.gateway(extra_opcua="  max_sessions: 1\n  max_monitored_items: 2")
def test_session_and_monitored_item_limits(server):
    url, proc, _ = server

    async def scenario():
        async with Client(url=url) as first:
            second = Client(url=url)
            with pytest.raises(ua.UaStatusCodeError) as too_many:
                await second.connect()
            assert too_many.value.code == ua.StatusCodes.BadTooManySessions
            try:
                await second.disconnect()
            except Exception:
                pass
            subscription = await first.create_subscription(100, None)
            nodes = [first.get_node(node_id(f"{BASE}/{n}")) for n in ("speed", "voltage", "serial")]
            results = await subscription.subscribe_data_change(nodes[:2])
            assert len(results) == 2
            with pytest.raises(ua.UaStatusCodeError) as items:
                await subscription.subscribe_data_change(nodes[2])
            assert items.value.code == ua.StatusCodes.BadTooManyMonitoredItems
    run(scenario())


def test_session_times_out(server):
    url, proc, _ = server

    async def scenario():
        client = Client(url=url)
        client.session_timeout = 10_000  # the shortest Railgate grants
        await client.connect()
        # Drop the connection without closing the session.
        client.uaclient.protocol.transport.abort()
    run(scenario())
    assert wait_for(lambda: "OPC UA session timed out" in log_of(proc), 20), log_of(proc)
