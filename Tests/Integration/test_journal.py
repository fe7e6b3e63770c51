"""Store-and-forward: changes made while the broker is down reach the
subscriber after it comes back, in order — also across a SIGKILL of
Railgate during the outage, and past a damaged journal record."""

import json
import signal
import subprocess
import time
from pathlib import Path

from pymodbus.client import ModbusTcpClient

from conftest import (RAILGATE, Collector, free_port, log_of, start_broker, start_railgate, start_sim_tcp,
                      stop_gracefully, wait_for)


def config(broker_port, sim_port, journal_dir, prefix):
    return f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt:
  host: 127.0.0.1
  port: {broker_port}
  topic_prefix: {prefix}
  qos: 1
  retain: false
  reconnect_min_s: 2
  reconnect_max_s: 2
  journal: {{dir: {journal_dir}, fsync: always, segment_kb: 4}}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: meter, unit: 1, poll_ms: 50, tags: [{{name: speed, ref: 400006}}]}}
"""


def change(sim_port, values, pause=0.25):
    client = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert client.connect()
    for value in values:
        client.write_register(5, value, device_id=1)
        time.sleep(pause)
    client.close()


def speeds(collector, topic):
    values = []
    for payload in collector.all(topic):
        if payload["quality"] == "good" and (not values or values[-1] != payload["value"]):
            values.append(payload["value"])
    return values


def is_subsequence(expected, values):
    it = iter(values)
    return all(any(v == e for v in it) for e in expected)


def test_outage_then_every_change_in_order(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()
    broker = start_broker(procs, broker_port, "broker-a")
    prefix = "journal-outage"
    topic = f"{prefix}/acme/meter/speed"
    sub = Collector(broker_port, f"{prefix}/#")
    proc = start_railgate(procs, config(broker_port, sim_port, tmp_path / "journal", prefix))
    assert sub.wait(topic, lambda p: p["value"] == 1450), log_of(proc)
    sub.close()
    broker.terminate()
    broker.wait()
    expected = list(range(1500, 1512))
    change(sim_port, expected)
    assert any(Path(tmp_path / "journal").glob("segment-*.rgj"))
    start_broker(procs, broker_port, "broker-b")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        assert wait_for(lambda: speeds(sub, topic)[-1:] == [1511], 30), (speeds(sub, topic), log_of(proc))
        got = speeds(sub, topic)
        assert got == expected, got
        # Live data continues after the replay.
        change(sim_port, [1600], pause=0)
        assert sub.wait(topic, lambda p: p["value"] == 1600)
    finally:
        sub.close()


def test_sigkill_during_outage_loses_nothing(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()
    broker = start_broker(procs, broker_port, "broker-a")
    prefix = "journal-kill"
    topic = f"{prefix}/acme/meter/speed"
    journal = tmp_path / "journal"
    sub = Collector(broker_port, f"{prefix}/#")
    proc = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-1")
    assert sub.wait(topic, lambda p: p["value"] == 1450), log_of(proc)
    sub.close()
    broker.terminate()
    broker.wait()
    change(sim_port, [1700, 1701, 1702, 1703])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-2")
    time.sleep(1)
    change(sim_port, [1704, 1705])
    start_broker(procs, broker_port, "broker-b")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        assert wait_for(lambda: 1705 in speeds(sub, topic), 30), (speeds(sub, topic), log_of(again))
        got = speeds(sub, topic)
        assert is_subsequence(list(range(1700, 1706)), got), got
    finally:
        sub.close()


def test_damaged_record_is_reported_and_the_rest_replayed(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()
    prefix = "journal-damaged"
    topic = f"{prefix}/acme/meter/speed"
    journal = tmp_path / "journal"
    # No broker at all: everything goes to the journal.
    proc = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-1")
    time.sleep(1)
    change(sim_port, [1800, 1801, 1802, 1803])
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    segment = sorted(journal.glob("segment-*.rgj"))[0]
    data = bytearray(segment.read_bytes())
    data[8 + 8 + 2] ^= 0xFF  # inside the first record's body
    segment.write_bytes(bytes(data))
    start_broker(procs, broker_port, "broker")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        again = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-2")
        assert wait_for(lambda: 1803 in speeds(sub, topic), 30), (speeds(sub, topic), log_of(again))
        assert is_subsequence([1800, 1801, 1802, 1803], speeds(sub, topic))
        assert "record checksum mismatch" in log_of(again)
    finally:
        sub.close()


def journal_command(proc, *args):
    return journal_of(proc.config_path, *args)


def journal_of(config_path, *args):
    return subprocess.run([RAILGATE, "journal", *args, "--config", config_path], capture_output=True, text=True,
                          timeout=30)


def test_journal_command_shows_what_waits_and_what_was_delivered(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()
    prefix = "journal-command"
    journal = tmp_path / "journal"
    proc = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-1")
    time.sleep(1)
    change(sim_port, [1900, 1901, 1902])
    # While the gateway runs (reading changes nothing) and the broker is away: every change waits.
    listed = journal_command(proc, "list")
    assert listed.returncode == 0, listed.stderr
    values = [json.loads(line.split(" ", 1)[1])["value"] for line in listed.stdout.splitlines()]
    assert values[-3:] == [1900, 1901, 1902], listed.stdout
    assert all(line.startswith("acme/meter/speed {") for line in listed.stdout.splitlines()), listed.stdout
    assert stop_gracefully(proc) == 0
    status = journal_command(proc, "status")
    assert status.returncode == 0 and f"{len(values)} records pending, 0 delivered" in status.stdout, status
    # A damaged record is named, the others listed.
    segment = sorted(journal.glob("segment-*.rgj"))[0]
    data = bytearray(segment.read_bytes())
    data[8 + 8 + 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    listed = journal_command(proc, "list")
    assert f"damaged: {segment}: record checksum mismatch; record skipped" in listed.stderr, listed.stderr
    assert len(listed.stdout.splitlines()) == len(values) - 1
    # After the replay nothing waits; --all still shows what is kept on disk, marked delivered.
    start_broker(procs, broker_port, "broker")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        again = start_railgate(procs, config(broker_port, sim_port, journal, prefix), name="railgate-2")
        assert wait_for(lambda: 1902 in speeds(sub, f"{prefix}/acme/meter/speed"), 30), log_of(again)
        assert wait_for(lambda: "0 records pending" in journal_command(again, "status").stdout, 10), \
            journal_command(again, "status")
        kept = journal_command(again, "list", "--all").stdout.splitlines()
        assert kept and all(line.endswith(" delivered") for line in kept), kept
        assert journal_command(again, "list").stdout == ""
    finally:
        sub.close()
    # Without a journal in the configuration, the command says so.
    bare = tmp_path / "bare.yaml"
    bare.write_text("gateway: {id: x, isa95: {enterprise: acme}}\nsouth: []\n")
    result = journal_of(bare, "status")
    assert result.returncode == 2 and "no mqtt.journal configured (or pass --dir)" in result.stderr, result
