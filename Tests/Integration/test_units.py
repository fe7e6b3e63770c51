"""Units end to end: a tag's unit by any of its names, converted to its publish_unit by the
scaling, through MQTT (mosquitto) and OPC UA (asyncua), and a write in the published unit
reaching the pymodbus simulator in the device's."""

import asyncio

from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from conftest import (free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp, tcp_bus_yaml, wait_for,
                      wait_for_port)

BASE = "acme/meter1"


TAGS = (
    "{name: temperature, ref: 400005, type: int16, scale: 0.1, unit: Cel, publish_unit: degF}",
    "{name: frequency, ref: 300002, type: float32, unit: Hz, publish_unit: kHz}",
    "{name: flow, ref: 400041, unit: l/min, publish_unit: m3/h, writable: true}",
    "{name: energy, ref: 400006, unit: kWh}",
)


def config(ua_port, sim_port, broker, prefix):
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}", "isa95: {enterprise: acme}, writes: true}")
    return text + f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true}}\n"


def test_units_are_converted_and_published_by_every_north(procs, broker, collector_factory):
    sim_port = start_sim_tcp(procs)
    ua_port = free_port()
    prefix = "rgtest-units"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, config(ua_port, sim_port, broker, prefix))
    wait_for_port(ua_port)

    # The simulator holds −12.5 °C (raw −125 × 0.1) and 50 Hz.
    temperature = mqtt.wait(f"{prefix}/{BASE}/temperature")
    assert temperature is not None, log_of(proc)
    assert temperature["value"] == 9.5 and temperature["unit"] == "degF", temperature
    frequency = mqtt.wait(f"{prefix}/{BASE}/frequency")
    assert frequency["value"] == 0.05 and frequency["unit"] == "kHz", frequency

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            node = client.get_node(f"ns=1;s={BASE}/temperature")
            for _ in range(100):
                value = await node.read_data_value(raise_on_bad_status=False)
                if value.StatusCode.is_good():
                    break
                await asyncio.sleep(0.1)
            assert value.Value.Value == 9.5
            expected = {"temperature": (4604232, "°F", "degree Fahrenheit"), "frequency": (4933722, "kHz", "kilohertz"),
                        "flow": (5067080, "m³/h", "cubic metre per hour"), "energy": (4937544, "kW·h", "kilowatt hour")}
            for name, (unit_id, symbol, description) in expected.items():
                units = await client.get_node(f"ns=1;s={BASE}/{name}#EngineeringUnits").read_value()
                assert (units.UnitId, units.DisplayName.Text, units.Description.Text) == (unit_id, symbol, description), name
            # 60 m³/h is 1000 l/min at the device.
            await client.get_node(f"ns=1;s={BASE}/flow").write_value(ua.DataValue(ua.Variant(60.0, ua.VariantType.Double)))
    asyncio.run(asyncio.wait_for(scenario(), 60))

    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()
    try:
        assert modbus.read_holding_registers(40, count=1, device_id=1).registers == [1000]
    finally:
        modbus.close()
    assert mqtt.wait(f"{prefix}/{BASE}/flow", lambda p: p["value"] == 60), mqtt.all(f"{prefix}/{BASE}/flow")
    assert wait_for(lambda: "outcome=done" in log_of(proc)), log_of(proc)
