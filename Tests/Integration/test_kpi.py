"""Edge KPIs end to end: a scripted shift against the pymodbus plant simulator — the machine's
state register runs, stops with a reason code, runs again, takes a planned stop; its counters
count good and total parts; the gateway is restarted in the middle — and the figures Railgate
publishes over MQTT (mosquitto) and serves over OPC UA (asyncua) against a computation of the
same script in this test."""

import asyncio
import json
import time
from datetime import datetime, timezone

from asyncua import Client
from pymodbus.client import ModbusTcpClient

from conftest import (free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp, stop_gracefully, tcp_bus_yaml,
                      wait_for, wait_for_port)

# Holding registers of the simulator the script writes (all 0 at start): state, reason, total, good.
STATE, REASON, TOTAL, GOOD = 60, 61, 62, 63
TAGS = ("{name: state, ref: 400061}", "{name: reason, ref: 400062, map: reasons}",
        "{name: total, ref: 400063}", "{name: good, ref: 400064}")
IDEAL_CYCLE = 0.25


def config(prefix, broker, sim_port, ua_port, state_file, shift_start, shift_end):
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "filler", tags=TAGS))
    return f"""maps:
  reasons: {{0: NONE, 7: JAM, 9: NO-BOTTLES}}
kpi:
  state_file: {state_file}
  publish_ms: 500
  shifts:
    - {{name: early, start: "{shift_start}", end: "{shift_end}"}}
  machines:
    - name: line3
      state: {{tag: filler/state, running: [1], idle: [2], stopped: [4], down: [3]}}
      reason: filler/reason
      total: filler/total
      good: filler/good
      ideal_cycle_s: {IDEAL_CYCLE}
""" + text + f"opcua: {{host: 127.0.0.1, port: {ua_port}}}\n"


def hms(seconds):
    seconds %= 86_400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def test_a_scripted_shift_with_a_restart_gives_the_figures_of_its_script(procs, broker, collector_factory):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    prefix = "rgtest-kpi"
    mqtt = collector_factory(f"{prefix}/acme/line3/#")
    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()

    def write(address, value):
        assert not modbus.write_register(address, value, device_id=1).isError()
        return time.time()

    # The shift starts on a whole second a few seconds from now (UTC: the gateway runs with TZ=UTC).
    now = datetime.now(timezone.utc)
    start = int(now.timestamp()) + 6
    midnight = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    text = config(prefix, broker, sim_port, ua_port, procs.tmp / "kpi" / "state.json",
                  hms(start - midnight), hms(start - midnight + 600))
    env = {"TZ": "UTC"}
    write(STATE, 1)
    write(TOTAL, 100)
    write(GOOD, 100)
    proc = start_railgate(procs, text, env=env)
    wait_for_port(ua_port)

    def topic(name):
        return f"{prefix}/acme/line3/{name}"

    def at(offset):
        """Sleeps until `offset` s after the shift's start."""
        delay = start + offset - time.time()
        if delay > 0:
            time.sleep(delay)

    at(0.3)
    assert mqtt.wait(topic("shift"), lambda p: p["value"] == "early", timeout=10), (log_of(proc), mqtt.all(topic("shift")))
    at(2)
    write(TOTAL, 110)
    write(GOOD, 108)
    at(4)
    write(REASON, 7)
    down_at = write(STATE, 3)             # down 4 … 7 s, JAM
    assert mqtt.wait(topic("reason"), lambda p: p["value"] == "JAM", timeout=5), mqtt.all(topic("reason"))
    at(7)
    up_at = write(STATE, 1)
    write(REASON, 0)
    event = mqtt.wait(topic("downtime"), lambda p: p["value"] != "", timeout=5)
    assert event is not None, mqtt.all(topic("downtime"))
    downtime = json.loads(event["value"])
    assert downtime["reason"] == "JAM" and downtime["shift"] == "early", downtime
    assert abs(downtime["duration_ms"] / 1000 - (up_at - down_at)) <= 0.4, (downtime, up_at - down_at)
    at(9)
    write(TOTAL, 120)
    write(GOOD, 117)
    at(10)

    # A restart in the middle of the shift (as an upgrade does it).
    assert stop_gracefully(proc) == 0, log_of(proc)
    old = [m for m in mqtt.all(topic("run_s"))]
    gap_start = max(m["ts"] for m in old) / 1000
    assert (procs.tmp / "kpi" / "state.json").exists()
    proc = start_railgate(procs, text, name="railgate-2", env=env)
    back = mqtt.wait(topic("state"), lambda p: p["ts"] / 1000 > gap_start and p["value"] == "running", timeout=20)
    assert back is not None, log_of(proc)
    gap_end = back["ts"] / 1000
    at(12)
    write(TOTAL, 130)
    write(GOOD, 126)
    at(14)
    stop_at = write(STATE, 4)             # planned stop 14 … 16 s
    at(16)
    resume_at = write(STATE, 1)
    at(18.2)

    # The figures of one publication (all stamped alike), taken after 18 s.
    names = ["planned_s", "run_s", "down_s", "stopped_s", "availability", "performance", "quality", "oee",
             "total_count", "good_count", "downtime_count"]
    assert wait_for(lambda: all(any(m["ts"] / 1000 >= start + 18 for m in mqtt.all(topic(n)))
                                for n in ["run_s", "planned_s"]), 5)
    stamp = min(m["ts"] for m in mqtt.all(topic("planned_s")) if m["ts"] / 1000 >= start + 18)

    def value(name):
        # The value current at `stamp`: its last message stamped at or before it (unchanged ones are not resent).
        return max((m for m in mqtt.all(topic(name)) if m["ts"] <= stamp), key=lambda m: m["ts"])["value"]
    figures = {n: value(n) for n in names}
    end = stamp / 1000

    # The script, computed here from the times it wrote the state: a planned stop (≈ 2 s), down
    # (≈ 3 s), the restart's gap unknown (not running).
    gap = gap_end - gap_start
    down, stopped = up_at - down_at, resume_at - stop_at
    planned = end - start - stopped
    run = planned - down - gap
    total, good = 30, 26
    print(f"kpi: published {figures}; computed planned {planned:.3f} s, run {run:.3f} s, restart gap {gap:.3f} s")
    assert abs(figures["planned_s"] - planned) <= 0.7, (figures, planned)
    assert abs(figures["run_s"] - run) <= 1.0, (figures, run, gap)
    assert abs(figures["down_s"] - (down + gap)) <= 1.0, (figures, gap)
    assert abs(figures["stopped_s"] - stopped) <= 0.5, (figures, stopped)
    assert (figures["total_count"], figures["good_count"], figures["downtime_count"]) == (total, good, 1), figures
    availability, performance, quality = run / planned, IDEAL_CYCLE * total / run, good / total
    assert abs(figures["availability"] - availability * 100) <= 5, (figures, availability)
    assert abs(figures["performance"] - performance * 100) <= 5, (figures, performance)
    assert abs(figures["quality"] - quality * 100) <= 1e-6, (figures, quality)
    assert abs(figures["oee"] - availability * performance * quality * 100) <= 3, (figures, availability * performance * quality)
    # And exactly what its own times and counts give.
    assert abs(figures["availability"] - figures["run_s"] / figures["planned_s"] * 100) <= 1e-6
    assert abs(figures["oee"] - IDEAL_CYCLE * good / figures["planned_s"] * 100) <= 1e-6

    async def opcua():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            state = await client.get_node("ns=1;s=acme/line3/state").read_value()
            machinery = await client.get_node("ns=1;s=acme/line3/machinery_state").read_value()
            oee = await client.get_node("ns=1;s=acme/line3/oee").read_value()
            assert (state, machinery) == ("running", "Executing")
            assert 0 < oee <= 100
    asyncio.run(asyncio.wait_for(opcua(), 30))
    modbus.close()


def test_check_refuses_a_kpi_naming_a_missing_tag_and_overlapping_shifts(tmp_path):
    import subprocess
    from conftest import RAILGATE
    text = config("rgtest-kpi", 1883, 5020, 4840, tmp_path / "kpi.json", "06:00", "14:00")
    text = text.replace("total: filler/total", "total: filler/totals")
    text = text.replace('    - {name: early, start: "06:00", end: "14:00"}\n',
                        '    - {name: early, start: "06:00", end: "14:00"}\n    - {name: late, start: "13:30", end: "22:00"}\n')
    path = tmp_path / "kpi.yaml"
    path.write_text(text)
    result = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"{path}:8: kpi.shifts[1]: shift late overlaps shift early (line 7); a moment belongs to one shift" in out, out
    assert f'{path}:13: kpi.machines[0].total: no tag "filler/totals"; did you mean "filler/total"?' in out, out


def test_a_commit_carries_the_running_figures_over(procs, broker, collector_factory):
    """Without a state file too: a commit builds a new gateway, which takes the figures over."""
    import subprocess
    from conftest import RAILGATE
    sim_port = start_sim_tcp(procs, units="1")
    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()
    for address, value in ((STATE, 1), (TOTAL, 10), (GOOD, 10)):
        assert not modbus.write_register(address, value, device_id=1).isError()
    prefix = "rgtest-kpi-commit"
    mqtt = collector_factory(f"{prefix}/acme/line3/#")
    socket = procs.tmp / "control.sock"
    text = config(prefix, broker, sim_port, free_port(), procs.tmp / "unused.json", "00:00", "23:59:59")
    text = text.replace(f"  state_file: {procs.tmp / 'unused.json'}\n", "")
    text += f"console: {{socket: {socket}, history_dir: {procs.tmp}/history}}\n"
    proc = start_railgate(procs, text, env={"TZ": "UTC"})
    assert wait_for(lambda: socket.exists()), log_of(proc)
    assert mqtt.wait(f"{prefix}/acme/line3/state", lambda p: p["value"] == "running", timeout=15), log_of(proc)
    assert not modbus.write_register(TOTAL, 25, device_id=1).isError()
    assert mqtt.wait(f"{prefix}/acme/line3/total_count", lambda p: p["value"] == 15, timeout=10), log_of(proc)
    time.sleep(2)
    before = max(m["value"] for m in mqtt.all(f"{prefix}/acme/line3/run_s"))
    result = subprocess.run([RAILGATE, "console", "--socket", socket], capture_output=True, text=True, timeout=60,
                            input="configure\nset kpi.publish_ms 600\ncommit faster KPI updates\nexit\n")
    assert "commit" in result.stdout.lower() and "error" not in result.stdout.lower(), result.stdout + result.stderr
    assert wait_for(lambda: "configuration applied" in log_of(proc), 15), log_of(proc)
    assert not modbus.write_register(TOTAL, 30, device_id=1).isError()
    # The new gateway goes on counting from 15 and from the run time before the commit.
    assert mqtt.wait(f"{prefix}/acme/line3/total_count", lambda p: p["value"] == 20, timeout=10), \
        (mqtt.all(f"{prefix}/acme/line3/total_count"), log_of(proc))
    after = [m["value"] for m in mqtt.all(f"{prefix}/acme/line3/run_s")][-1]
    assert after >= before, (before, after)
    modbus.close()
