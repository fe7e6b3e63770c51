"""Equipment identity end to end: devices with an ISA-95 identity (`identity:`) are OPC 10030
Equipment objects in OPC UA (asyncua), carry their equipment and work center in JSON messages
on topics built from those ids (mosquitto), and in Sparkplug DBIRTH (Python protobuf), with
the equipment id as the Sparkplug device id. Devices are the pymodbus simulator's units 1, 2."""

import asyncio
import subprocess

from asyncua import Client, ua

from conftest import RAILGATE, free_port, log_of, start_railgate, start_sim_tcp, wait_for_port
from test_sparkplug import GROUP, NODE, Host, spb  # noqa: F401 (spb is a fixture)

ISA95 = "http://www.OPCFoundation.org/UA/2013/01/ISA95"
IDENTITY = """identity:
  filler: {equipment_id: FIL-01, work_center: PACK-L3, level: work_unit, description: Rotary filler}
  capper: {equipment_id: CAP-01, work_center: PACK-L3}
"""


def config(sim_port, mqtt):
    return IDENTITY + f"""gateway: {{id: rgtest-identity, isa95: {{enterprise: acme, site: plant1}}}}
{mqtt}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: filler, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
      - {{name: capper, unit: 2, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
  - name: tcp2
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: meter, unit: 1, poll_ms: 100, tags: [{{name: voltage, ref: 400001, type: float32}}]}}
"""


def test_devices_are_equipment_in_opcua_and_mqtt(procs, broker, collector_factory):
    sim_port = start_sim_tcp(procs)
    ua_port = free_port()
    prefix = "rgtest-identity"
    mqtt = collector_factory(f"{prefix}/#")
    text = config(sim_port, f"mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: {prefix}, device_topics: equipment}}")
    proc = start_railgate(procs, text + f"opcua: {{host: 127.0.0.1, port: {ua_port}}}\n")
    wait_for_port(ua_port)

    # Topics use the work center and equipment id; a device without an identity keeps its name.
    filler = mqtt.wait(f"{prefix}/acme/plant1/PACK-L3/FIL-01/speed")
    assert filler is not None, (log_of(proc), mqtt.all(f"{prefix}/#"))
    assert (filler["value"], filler["equipment"], filler["work_center"]) == (1450, "FIL-01", "PACK-L3"), filler
    capper = mqtt.wait(f"{prefix}/acme/plant1/PACK-L3/CAP-01/speed")
    assert capper["value"] == 1451 and capper["equipment"] == "CAP-01", capper
    meter = mqtt.wait(f"{prefix}/acme/plant1/meter/voltage")
    assert meter["value"] == 230.5 and "equipment" not in meter, meter

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            isa = await client.get_namespace_index(ISA95)
            equipment_type = ua.NodeId(5040, isa)
            device = client.get_node("ns=1;s=acme/plant1/filler")
            assert await device.read_type_definition() == equipment_type
            assert (await device.read_display_name()).Text == "FIL-01"
            assert (await device.read_description()).Text == "Rotary filler"
            assert (await device.read_browse_name()).Name == "filler"
            level = await device.get_child(f"{isa}:EquipmentLevel")
            assert await level.read_value() == 11  # WorkUnit
            assert await level.read_data_type() == ua.NodeId(4871, isa)
            # The tags are where they were.
            speed = client.get_node("ns=1;s=acme/plant1/filler/speed")
            for _ in range(50):
                if (await speed.read_data_value(raise_on_bad_status=False)).StatusCode.is_good():
                    break
                await asyncio.sleep(0.1)
            assert await speed.read_value() == 1450
            # A device without identity stays a plain object.
            assert await client.get_node("ns=1;s=acme/plant1/meter").read_type_definition() == ua.NodeId(58)

            # The work center: an Equipment object at level WorkCenter, made up of its equipment.
            center = client.get_node("ns=1;s=acme/plant1#PACK-L3")
            assert await center.read_type_definition() == equipment_type
            assert await (await center.get_child(f"{isa}:EquipmentLevel")).read_value() == 10
            made_up_of = await center.get_referenced_nodes(refs=ua.NodeId(5115, isa), direction=ua.BrowseDirection.Forward)
            assert {n.nodeid.to_string() for n in made_up_of} == {"ns=1;s=acme/plant1/filler", "ns=1;s=acme/plant1/capper"}
            site = client.get_node("ns=1;s=acme/plant1")
            children = {c.nodeid.to_string() for c in await site.get_children(refs=ua.ObjectIds.Organizes)}
            assert "ns=1;s=acme/plant1#PACK-L3" in children, children

            # The types come from OPC 10030: EquipmentType ⊂ ISA95ObjectType ⊂ BaseObjectType.
            types = client.get_node(equipment_type)
            assert (await types.read_browse_name()).to_string() == f"{isa}:EquipmentType"
            parent = (await types.get_referenced_nodes(refs=ua.ObjectIds.HasSubtype, direction=ua.BrowseDirection.Inverse))[0]
            assert parent.nodeid == ua.NodeId(4958, isa)
            base = (await parent.get_referenced_nodes(refs=ua.ObjectIds.HasSubtype, direction=ua.BrowseDirection.Inverse))[0]
            assert base.nodeid == ua.NodeId(58)
            strings = await client.get_node(ua.NodeId(4871, isa)).get_child("0:EnumStrings")
            assert [t.Text for t in await strings.read_value()][10:12] == ["WorkCenter", "WorkUnit"]
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_sparkplug_devices_go_by_equipment_id_with_their_identity_in_dbirth(procs, broker, spb):  # noqa: F811
    sim_port = start_sim_tcp(procs)
    host = Host(broker, spb)
    try:
        mqtt = f"""mqtt:
  host: 127.0.0.1
  port: {broker}
  format: sparkplug
  device_topics: equipment
  sparkplug: {{group_id: {GROUP}, edge_node_id: {NODE}}}"""
        proc = start_railgate(procs, config(sim_port, mqtt))
        births = {}
        assert host.wait("DBIRTH", lambda p: len(host.of("DBIRTH")) >= 3, timeout=20), log_of(proc)
        with host.lock:
            for kind, topic, payload in host.messages:
                if kind == "DBIRTH":
                    births[topic.split("/")[-1]] = {m.name: m for m in payload.metrics}
        assert set(births) == {"FIL-01", "CAP-01", "meter"}, births.keys()
        filler = births["FIL-01"]
        assert filler["Properties/EquipmentID"].string_value == "FIL-01"
        assert filler["Properties/WorkCenter"].string_value == "PACK-L3"
        assert filler["Properties/EquipmentLevel"].string_value == "WorkUnit"
        assert filler["Properties/Description"].string_value == "Rotary filler"
        assert filler["acme/plant1/filler/speed"].int_value == 1450
        assert "Properties/Description" not in births["CAP-01"]
        assert not any(name.startswith("Properties/") for name in births["meter"])
    finally:
        host.close()


def test_check_refuses_identities_that_do_not_fit(tmp_path):
    bad = IDENTITY.replace("capper: {equipment_id: CAP-01", "caper: {equipment_id: CAP-01") \
        + "  meter: {equipment_id: FIL-01, level: workunit}\n"
    path = tmp_path / "identity.yaml"
    path.write_text(config(5020, "") .replace(IDENTITY, bad))
    result = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f'{path}:3: identity.caper: no device "caper" in south; did you mean "capper"?' in out, out
    assert f'{path}:4: identity.meter.level: unknown equipment level "workunit" (did you mean "work_unit"?' in out, out
    assert f'{path}:4: identity.meter.equipment_id: equipment id "FIL-01" is also device filler\'s' in out, out
