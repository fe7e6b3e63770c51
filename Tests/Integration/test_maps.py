"""Code maps end to end: a register's raw value published with its MES code, and a value the map
does not list published raw with quality uncertain — through MQTT JSON (mosquitto), OPC UA
(asyncua: MultiStateValueDiscrete, EnumValues, ValueAsText, Uncertain status), Sparkplug B
(Python protobuf) and the console, where a write may name a code. The device is the pymodbus
simulator; the test changes its register with a pymodbus client."""

import asyncio
import subprocess

from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from conftest import (RAILGATE, console_lines, free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp,
                      tcp_bus_yaml, wait_for, wait_for_port)
from test_sparkplug import GROUP, NODE, Host, spb  # noqa: F401 (spb is a fixture)

MAPS = """maps:
  material:
    500: MAT-0500
    1001: MAT-4711-A
    1002: MAT-4711-B
"""
# Holding register 40 of the simulator (500 at start): the material code the PLC reports.
TAGS = ("{name: material, ref: 400041, map: material, writable: true}",)
BASE = "acme/meter1"


def set_register(port, value):
    modbus = ModbusTcpClient("127.0.0.1", port=port)
    assert modbus.connect()
    try:
        assert not modbus.write_register(40, value, device_id=1).isError()
    finally:
        modbus.close()


def read_register(port):
    modbus = ModbusTcpClient("127.0.0.1", port=port)
    assert modbus.connect()
    try:
        return modbus.read_holding_registers(40, count=1, device_id=1).registers[0]
    finally:
        modbus.close()


def console(proc, *lines):
    return console_lines(proc.socket, *lines)


def test_codes_are_published_beside_raw_values_and_gaps_are_uncertain(procs, broker, collector_factory):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    prefix = "rgtest-maps"
    mqtt = collector_factory(f"{prefix}/#")
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}", "isa95: {enterprise: acme}, writes: true}")
    socket = procs.tmp / "control.sock"
    text = MAPS + text + f"opcua: {{host: 127.0.0.1, port: {ua_port}}}\n" \
        + f"console: {{socket: {socket}, history_dir: {procs.tmp}/history}}\n"
    proc = start_railgate(procs, text)
    proc.socket = socket
    wait_for_port(ua_port)
    topic = f"{prefix}/{BASE}/material"

    first = mqtt.wait(topic)
    assert first is not None, log_of(proc)
    assert (first["value"], first["code"], first["quality"]) == (500, "MAT-0500", "good"), first

    # A value the map does not list: raw value kept, quality uncertain, no code.
    set_register(sim_port, 1099)
    gap = mqtt.wait(topic, lambda p: p["value"] == 1099)
    assert gap is not None, mqtt.all(topic)
    assert gap["quality"] == "uncertain" and gap["reason"] == "unmapped code" and "code" not in gap, gap

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            node = client.get_node(f"ns=1;s={BASE}/material")
            value = await node.read_data_value(raise_on_bad_status=False)
            assert value.Value.Value == 1099
            assert value.StatusCode.value == ua.StatusCodes.UncertainConfigurationError, value.StatusCode
            definition = await node.read_type_definition()
            assert definition == ua.NodeId(11238), definition  # MultiStateValueDiscreteType
            properties = {(await p.read_browse_name()).Name: p for p in await node.get_properties()}
            assert set(properties) == {"EnumValues", "ValueAsText"}, properties
            entries = await properties["EnumValues"].read_value()
            assert [(e.Value, e.DisplayName.Text) for e in entries] == \
                [(500, "MAT-0500"), (1001, "MAT-4711-A"), (1002, "MAT-4711-B")]
            text_value = await properties["ValueAsText"].read_data_value(raise_on_bad_status=False)
            assert text_value.StatusCode.value == ua.StatusCodes.UncertainConfigurationError
            assert text_value.Value.Value.Text in (None, ""), text_value

            set_register(sim_port, 1001)
            for _ in range(100):
                value = await node.read_data_value(raise_on_bad_status=False)
                if value.StatusCode.is_good():
                    break
                await asyncio.sleep(0.1)
            assert value.Value.Value == 1001 and value.StatusCode.is_good(), value
            assert (await properties["ValueAsText"].read_value()).Text == "MAT-4711-A"
    asyncio.run(asyncio.wait_for(scenario(), 60))
    mapped = mqtt.wait(topic, lambda p: p["value"] == 1001)
    assert mapped == {**mapped, "code": "MAT-4711-A", "quality": "good"}, mapped

    # The console shows the code and writes by code; a code the map does not hold is refused.
    assert wait_for(lambda: socket.exists()), log_of(proc)
    shown = console(proc, "show tag meter1/material")
    assert "1001 (MAT-4711-A)" in shown and "map       material (3 codes)" in shown, shown
    written = console(proc, "write tag meter1/material MAT-4711-B", "write tag meter1/material MAT-9")
    assert "done" in written and 'refused: "MAT-9" is not a code of map material' in written, written
    assert wait_for(lambda: read_register(sim_port) == 1002), read_register(sim_port)
    assert mqtt.wait(topic, lambda p: p.get("code") == "MAT-4711-B"), mqtt.all(topic)


def test_sparkplug_metrics_carry_the_code_and_an_uncertain_quality(procs, broker, spb):  # noqa: F811
    sim_port = start_sim_tcp(procs, units="1")
    host = Host(broker, spb)
    try:
        text = MAPS + f"""gateway:
  id: {NODE}
  isa95: {{enterprise: acme}}
mqtt:
  host: 127.0.0.1
  port: {broker}
  format: sparkplug
  sparkplug: {{group_id: {GROUP}}}
south:
{tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS)}"""
        proc = start_railgate(procs, text)

        def material(payload):
            return next((m for m in payload.metrics if m.alias == 1), None)

        def properties(metric):
            return dict(zip(metric.properties.keys, metric.properties.values))

        birth = host.wait("DBIRTH")
        assert birth is not None, log_of(proc)
        metric = material(birth)
        assert metric.name == f"{BASE}/material" and metric.int_value == 500, metric
        assert properties(metric)["code"].string_value == "MAT-0500", metric

        set_register(sim_port, 1099)
        data = host.wait("DDATA", lambda p: material(p) is not None and material(p).int_value == 1099)
        assert data is not None, host.of("DDATA")
        props = properties(material(data))
        assert props["Quality"].int_value == 64 and props["code"].string_value == "", material(data)
        set_register(sim_port, 1002)
        data = host.wait("DDATA", lambda p: material(p) is not None and material(p).int_value == 1002)
        props = properties(material(data))
        assert props["code"].string_value == "MAT-4711-B" and "Quality" not in props, material(data)
    finally:
        host.close()


def test_check_refuses_a_tag_naming_a_missing_map(tmp_path):
    config = tmp_path / "maps.yaml"
    config.write_text(MAPS + gateway_yaml("rgtest-maps", 1883, tcp_bus_yaml(
        "tcp1", 5020, "meter1", tags=("{name: material, ref: 400041, map: materials}",))))
    result = subprocess.run([RAILGATE, "check", "--config", config], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert f'{config}:15: south[0].devices[0].tags[0].map: unknown map "materials"; did you mean "material"?' \
        in result.stdout + result.stderr, result.stdout + result.stderr
