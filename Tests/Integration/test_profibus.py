"""PROFIBUS-DP: Railgate's master against the slave simulator on a socat PTY
pair (two slaves), pyprofibus as a third-party master against the same
simulator, line faults, and configuration errors from GSD files."""

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from asyncua import Client, ua

from conftest import (RAILGATE, ROOT, free_port, log_of, pty_pair, start_railgate, stop_gracefully, wait_for,
                      wait_for_port)

SIM = ROOT / "scripts" / "sim" / "profibus_sim.py"
GSD = ROOT / "hardware" / "gsd"
PYPROFIBUS_MASTER = ROOT / "Tests" / "Integration" / "pyprofibus_master.py"

# Station 5: modular I/O (8 DI, 2 AI word, 8 DO, 2 AO word) = 5 input and 5 output octets;
# a counter in AI 1, 25.0 °C in AI 2, inputs 0 and 3 on.
IO5 = "addr=5,ident=0x5247,cfg=10 51 20 61,counter=1,inputs=09 0000 00FA"
# Station 7: compact drive, 2 words in (status, speed) and 2 words out (control, setpoint).
DRIVE7 = "addr=7,ident=0x5248,cfg=71,inputs=0437 05DC"


class Line:
    """A PTY pair with the slave simulator on one end and its control port."""

    def __init__(self, procs, slaves):
        self.master_end, slave_end = pty_pair(procs, "dp")
        self.control = free_port()
        args = [sys.executable, SIM, "--port", slave_end, "--control", self.control]
        for spec in slaves:
            args += ["--slave", spec]
        self.proc = procs.start(args, "profibus-sim")
        wait_for_port(self.control)

    def ctl(self, command):
        with socket.create_connection(("127.0.0.1", self.control), timeout=5) as s:
            s.sendall((command + "\n").encode())
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = s.recv(65536)
                assert chunk, "simulator closed the control connection"
                answer += chunk
        result = json.loads(answer)
        assert "error" not in result, result
        return result

    def slave(self, address):
        return self.ctl("status")["slaves"][str(address)]


@pytest.fixture
def line(procs):
    return Line(procs, [IO5, DRIVE7])


def gateway_config(line, broker, prefix, ua_port=None, writes=False, retries=1, io_modules=None, extra=""):
    modules = io_modules or ["8 DI", "2 AI word", "8 DO", "2 AO word"]
    opcua = f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: {str(writes).lower()}}}" if ua_port else ""
    return f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}, writes: {str(writes).lower()}}}
mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: {prefix}}}
{opcua}
south:
  - name: dp1
    protocol: profibus-dp
    serial: {{device: {line.master_end}, baud: 187500}}
    master_address: 2
    retries: {retries}
    cycle_ms: 10
{extra}
    slaves:
      - name: io5
        address: 5
        gsd: {GSD / "RG_IO.gsd"}
        modules: {json.dumps(modules)}
        watchdog_ms: 400
        tags:
          - {{name: di, area: input, byte: 0, type: uint8}}
          - {{name: di3, area: input, byte: 0, bit: 3}}
          - {{name: counter, area: input, byte: 1, type: uint16}}
          - {{name: temp, area: input, byte: 3, type: int16, scale: 0.1, unit: "°C"}}
          - {{name: lamp, area: output, byte: 0, bit: 2, writable: true}}
          - {{name: ao1, area: output, byte: 1, type: uint16, writable: true}}
      - name: drive7
        address: 7
        gsd: {GSD / "RG_DRIVE.gsd"}
        tags:
          - {{name: status, area: input, byte: 0, type: uint16}}
          - {{name: speed, area: input, byte: 2, type: int16, unit: r/min}}
          - {{name: control, area: output, byte: 0, type: uint16, writable: true}}
          - {{name: setpoint, area: output, byte: 2, type: int16, writable: true}}
"""


def start(procs, line, broker, collector_factory, request, **options):
    prefix = f"dp-{request.node.name[5:30].replace('_', '-')}"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, gateway_config(line, broker, prefix, **options))
    mqtt.base = f"{prefix}/acme"
    return proc, mqtt


def test_two_slaves_reach_data_exchange_and_publish(procs, line, broker, collector_factory, request):
    ua_port = free_port()
    proc, mqtt = start(procs, line, broker, collector_factory, request, ua_port=ua_port)
    assert mqtt.wait(f"{mqtt.base}/io5/temp", lambda p: p["quality"] == "good"), log_of(proc)
    expected = {"io5/di": 9, "io5/di3": True, "io5/temp": 25.0, "drive7/status": 0x0437, "drive7/speed": 1500,
                "io5/lamp": False, "drive7/setpoint": 0}
    for path, value in expected.items():
        payload = mqtt.wait(f"{mqtt.base}/{path}", lambda p: p["quality"] == "good")
        assert payload and payload["value"] == value, (path, payload)
    assert mqtt.latest(f"{mqtt.base}/io5/temp")["unit"] == "°C"
    # Inputs that change on the slave show up.
    assert mqtt.wait(f"{mqtt.base}/io5/counter", lambda p: p["value"] >= 20)
    line.ctl("set 7 2 FC18")
    assert mqtt.wait(f"{mqtt.base}/drive7/speed", lambda p: p["value"] == -1000)

    # What the slaves were told: Set_Prm with ident, watchdog and the GSD's user
    # parameter default (input filter 3), Chk_Cfg with the modules' octets.
    io5, drive7 = line.slave(5), line.slave(7)
    assert io5["state"] == "Data_Exch" and drive7["state"] == "Data_Exch"
    assert io5["master"] == 2 and io5["watchdog_ms"] == 400
    assert io5["prm"] == "8828010b52470003" and io5["cfg"] == "10512061"
    assert drive7["prm"][8:12] == "5248" and drive7["cfg"] == "71"

    async def read():
        async with Client(f"opc.tcp://127.0.0.1:{ua_port}") as client:
            assert await client.get_node("ns=1;s=acme/drive7/speed").read_value() == -1000
            assert await client.get_node("ns=1;s=acme/io5/di3").read_value() is True
            assert await client.get_node("ns=1;s=acme/io5/di").read_data_type_as_variant_type() == ua.VariantType.Byte
    asyncio.run(read())
    assert stop_gracefully(proc) == 0


def test_output_writes_reach_the_slave(procs, line, broker, collector_factory, request):
    ua_port = free_port()
    proc, mqtt = start(procs, line, broker, collector_factory, request, ua_port=ua_port, writes=True)
    assert mqtt.wait(f"{mqtt.base}/drive7/setpoint", lambda p: p["quality"] == "good"), log_of(proc)

    async def write():
        async with Client(f"opc.tcp://127.0.0.1:{ua_port}") as client:
            await client.get_node("ns=1;s=acme/drive7/setpoint").write_value(
                ua.DataValue(ua.Variant(-1200, ua.VariantType.Int16)))
            await client.get_node("ns=1;s=acme/drive7/control").write_value(
                ua.DataValue(ua.Variant(0x047F, ua.VariantType.UInt16)))
            await client.get_node("ns=1;s=acme/io5/lamp").write_value(ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
            with pytest.raises(ua.UaStatusCodeError):
                await client.get_node("ns=1;s=acme/io5/temp").write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
    asyncio.run(write())
    assert wait_for(lambda: line.slave(7)["outputs"] == "047ffb50"), line.slave(7)
    assert wait_for(lambda: line.slave(5)["outputs"][:2] == "04"), line.slave(5)
    assert mqtt.wait(f"{mqtt.base}/drive7/setpoint", lambda p: p["value"] == -1200)


def test_sync_freeze_and_extended_diagnosis(procs, line, broker, collector_factory, request):
    ua_port = free_port()
    proc, mqtt = start(procs, line, broker, collector_factory, request, ua_port=ua_port, writes=True,
                       extra="    sync: true\n    freeze: true")
    assert mqtt.wait(f"{mqtt.base}/drive7/speed", lambda p: p["quality"] == "good"), log_of(proc)
    drive7 = line.slave(7)
    # Set_Prm asked for sync and freeze (Station_Status 0x80 lock | 0x20 sync | 0x10 freeze | 0x08 watchdog).
    assert drive7["prm"][:2] == "b8" and drive7["sync"], drive7
    assert wait_for(lambda: line.slave(7)["syncs"] > 5)

    async def write():
        async with Client(f"opc.tcp://127.0.0.1:{ua_port}") as client:
            await client.get_node("ns=1;s=acme/drive7/setpoint").write_value(
                ua.DataValue(ua.Variant(321, ua.VariantType.Int16)))
    asyncio.run(write())
    # Outputs are taken over at the SYNC that follows the cycle.
    assert wait_for(lambda: line.slave(7)["outputs"] == "00000141"), line.slave(7)

    # A slave raising extended diagnosis: answered "diagnosis high", read, logged; data exchange goes on.
    line.ctl("diag 5 0381000a")
    assert wait_for(lambda: "PROFIBUS slave reports diagnosis" in log_of(proc)), log_of(proc)
    assert "extended diagnosis" in log_of(proc) and "extended 03 81 00 0A" in log_of(proc), log_of(proc)
    count = len(mqtt.all(f"{mqtt.base}/io5/counter"))
    assert wait_for(lambda: len(mqtt.all(f"{mqtt.base}/io5/counter")) > count + 5)
    assert line.slave(5)["state"] == "Data_Exch"


def test_pyprofibus_master_drives_the_simulator(procs):
    line = Line(procs, [IO5, DRIVE7])
    conf = procs.tmp / "pyprofibus.conf"
    conf.write_text(f"""
[PROFIBUS]
debug = 0
[PHY]
type = serial
dev = {line.master_end}
baud = 19200
[DP]
master_class = 1
master_addr = 3
[SLAVE_0]
name = io5
addr = 5
gsd = {GSD / "RG_IO.gsd"}
watchdog_ms = 300
module_0 = 8 DI
module_1 = 2 AI word
module_2 = 8 DO
module_3 = 2 AO word
input_size = 5
output_size = 5
[SLAVE_1]
name = drive7
addr = 7
gsd = {GSD / "RG_DRIVE.gsd"}
watchdog_ms = 300
input_size = 4
output_size = 4
""")
    result = subprocess.run([sys.executable, PYPROFIBUS_MASTER, conf, "4", "1122334455"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["5"]["connected"] and seen["7"]["connected"], seen
    assert seen["5"]["count"] > 10 and seen["7"]["count"] > 10, seen
    assert seen["7"]["inputs"][-1] == "043705dc"
    assert seen["5"]["inputs"][-1].startswith("09") and seen["5"]["inputs"][-1].endswith("00fa")
    io5, drive7 = line.slave(5), line.slave(7)
    assert io5["master"] == 3 and io5["outputs"] == "1122334455" and drive7["outputs"] == "11223344"
    assert io5["cfg"] == "10512061" and drive7["cfg"] == "71"


def test_a_slave_that_disappears_goes_bad_and_comes_back(procs, line, broker, collector_factory, request):
    proc, mqtt = start(procs, line, broker, collector_factory, request)
    speed = f"{mqtt.base}/drive7/speed"
    assert mqtt.wait(speed, lambda p: p["quality"] == "good"), log_of(proc)
    line.ctl("mute 7")
    assert mqtt.wait(speed, lambda p: p["quality"] == "bad" and p["reason"] == "timeout"), mqtt.all(speed)
    # The other slave keeps cycling meanwhile.
    before = mqtt.latest(f"{mqtt.base}/io5/counter")["value"]
    assert mqtt.wait(f"{mqtt.base}/io5/counter", lambda p: p["value"] > before + 10 and p["quality"] == "good")
    line.ctl("unmute 7")
    count = len(mqtt.all(speed))
    assert wait_for(lambda: any(p["quality"] == "good" for p in mqtt.all(speed)[count:]), 20), mqtt.all(speed)[-3:]
    assert line.slave(7)["state"] == "Data_Exch"
    assert "no valid answer to 3 Data_Exchange requests in a row" in log_of(proc)
    assert "PROFIBUS slave in data exchange" in log_of(proc)


def test_wrong_ident_is_reported_and_never_exchanges_data(procs, line, broker, collector_factory, request):
    line.ctl("ident 7 1234")
    proc, mqtt = start(procs, line, broker, collector_factory, request)
    assert mqtt.wait(f"{mqtt.base}/io5/di", lambda p: p["quality"] == "good"), log_of(proc)
    assert wait_for(lambda: "wrong ident number: the slave reports 0x1234" in log_of(proc)), log_of(proc)
    assert "RG_DRIVE.gsd says 0x5248; no data exchange" in log_of(proc)
    assert mqtt.wait(f"{mqtt.base}/drive7/speed", lambda p: p["quality"] == "bad" and p["reason"] == "config")
    assert line.slave(7)["dx"] == 0 and line.slave(7)["state"] == "Wait_Prm"


def test_wrong_modules_name_expected_and_reported_config(procs, line, broker, collector_factory, request):
    # The station really has 8 DI, 2 AI word, 8 DO, 2 AO word; the configuration says 4 byte in/out last.
    proc, mqtt = start(procs, line, broker, collector_factory, request,
                       io_modules=["8 DI", "2 AI word", "8 DO", "4 byte in/out"])
    assert mqtt.wait(f"{mqtt.base}/drive7/speed", lambda p: p["quality"] == "good"), log_of(proc)
    message = "configuration fault (Cfg_Fault): expected 10 51 20 33 (8 DI, 2 AI word, 8 DO, 4 byte in/out), the slave reports 10 51 20 61"
    assert wait_for(lambda: message in log_of(proc)), log_of(proc)
    assert mqtt.wait(f"{mqtt.base}/io5/di", lambda p: p["quality"] == "bad" and p["reason"] == "config")
    assert line.slave(5)["dx"] == 0


def test_fcs_errors_truncation_and_garbage_are_retried(procs, line, broker, collector_factory, request):
    proc, mqtt = start(procs, line, broker, collector_factory, request)
    counter = f"{mqtt.base}/io5/counter"
    assert mqtt.wait(counter, lambda p: p["quality"] == "good"), log_of(proc)

    def inject(command, address):
        before = line.slave(address)["requests"]
        line.ctl(command)
        assert wait_for(lambda: line.slave(address)["requests"] > before + 5)

    # One damaged answer at a time: the repetition (same FCB) gets a clean copy.
    for command, address in [("corrupt 5 1", 5), ("truncate 5 1", 5), ("garbage 9", 7), ("corrupt 7 1", 7),
                             ("truncate 7 1", 7)]:
        inject(command, address)
    assert all(p["quality"] == "good" for p in mqtt.all(counter)), [p for p in mqtt.all(counter) if p["quality"] != "good"]
    # Both tries damaged: that cycle's values are bad (crc), the next cycle is good again, no restart.
    inject("corrupt 5 2", 5)
    assert mqtt.wait(counter, lambda p: p["quality"] == "bad" and p["reason"] == "crc")
    bad = len(mqtt.all(counter))
    assert wait_for(lambda: any(p["quality"] == "good" for p in mqtt.all(counter)[bad:]))
    assert line.slave(5)["state"] == "Data_Exch" and line.slave(7)["state"] == "Data_Exch"
    assert stop_gracefully(proc) == 0
    totals = {}
    for entry in log_of(proc).splitlines():
        if "device totals" in entry:
            fields = dict(item.split("=", 1) for item in entry.split() if "=" in item)
            totals[fields["device"]] = fields
    assert int(totals["io5"]["fcs_errors"]) >= 3 and int(totals["io5"]["retries"]) >= 3, totals
    assert int(totals["drive7"]["retries"]) >= 2, totals
    assert totals["io5"]["restarts"] == "0" and totals["drive7"]["restarts"] == "0", totals


def test_gsd_and_module_errors_name_file_line_and_slave(tmp_path):
    broken = tmp_path / "broken.gsd"
    broken.write_text("#Profibus_DP\nIdent_Number = 0x1234\nModule = \"8 DI\" 0x10\nVendor_Name\n")
    config = tmp_path / "dp.yaml"
    config.write_text(f"""
gateway: {{id: gw, isa95: {{enterprise: acme}}}}
south:
  - name: dp1
    protocol: profibus-dp
    serial: {{device: /dev/null, baud: 187500}}
    slaves:
      - name: io5
        address: 5
        gsd: {GSD / "RG_IO.gsd"}
        modules: ["8 DI", "16 DI"]
        tags: [{{name: di, area: input, byte: 0}}]
      - name: broken
        address: 6
        gsd: broken.gsd
        tags: [{{name: x, area: input, byte: 0}}]
      - name: late
        address: 8
        gsd: {GSD / "RG_DRIVE.gsd"}
        tags: [{{name: x, area: input, byte: 4, type: uint16}}]
""")
    result = subprocess.run([RAILGATE, "check", "--config", config], capture_output=True, text=True)
    assert result.returncode == 2
    err = result.stderr
    assert f'dp.yaml:11: south[0].slaves[0].modules[1]: slave io5: {GSD / "RG_IO.gsd"} has no module "16 DI"' in err, err
    assert f"south[0].slaves[1].gsd: slave broken: GSD {broken}:4: expected \"keyword = value\", found \"Vendor_Name\"" in err, err
    assert "past the 0 input octets" not in err, err
    assert "south[0].slaves[2].tags[0].byte: uint16 at octet 4 ends at 5, past the 4 input octets the modules provide" in err, err
