"""SIGKILL at random points, as a power cut or the OOM killer would stop the
gateway: twenty times while it journals changes for a broker that is away,
twenty times while a console commits a configuration. After each restart,
what the journal held before the kill is still there and reaches the broker,
and the configuration is the old one or the new one, never half of either."""

import json
import random
import signal
import subprocess
import threading
import time

import yaml

from conftest import RAILGATE, Collector, free_port, log_of, start_broker, start_railgate, start_sim_tcp, wait_for
from test_console import console_config
from test_journal import config as journal_config, journal_of, speeds

ROUNDS = 20


def test_kill9_while_journaling_keeps_every_journaled_change(procs, tmp_path):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()  # no broker yet: every change goes to the journal
    prefix = "kill9-journal"
    journal = tmp_path / "journal"
    text = journal_config(broker_port, sim_port, journal, prefix)
    stop = threading.Event()

    def keep_changing():
        from pymodbus.client import ModbusTcpClient
        client = ModbusTcpClient("127.0.0.1", port=sim_port)
        assert client.connect()
        value = 2000
        while not stop.is_set() and value < 60000:
            client.write_register(5, value, device_id=1)
            value += 1
            time.sleep(0.03)
        client.close()

    writer = threading.Thread(target=keep_changing, daemon=True)
    writer.start()
    rng = random.Random(18)
    held = set()
    try:
        for round in range(ROUNDS):
            proc = start_railgate(procs, text, name=f"railgate-{round}")
            time.sleep(rng.uniform(0.3, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            listed = journal_of(proc.config_path, "list")
            assert listed.returncode == 0, listed.stderr
            assert "damaged" not in listed.stderr or "record skipped" in listed.stderr, listed.stderr
            values = {json.loads(line.split(" ", 1)[1])["value"] for line in listed.stdout.splitlines()}
            # What was on disk before this kill is on disk after it.
            assert held <= values, sorted(held - values)[:10]
            held = values
    finally:
        stop.set()
        writer.join(5)
    assert len(held) > ROUNDS, len(held)
    start_broker(procs, broker_port, "broker")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        last = start_railgate(procs, text, name="railgate-last")
        topic = f"{prefix}/acme/meter/speed"
        assert wait_for(lambda: held <= set(speeds(sub, topic)), 60), (len(held - set(speeds(sub, topic))), log_of(last))
    finally:
        sub.close()


def test_kill9_during_console_commits_leaves_the_old_or_the_new_configuration(procs):
    sim = start_sim_tcp(procs, units="1")
    text = console_config(procs.tmp, sim)
    rng = random.Random(1718)
    path = None
    for round in range(ROUNDS):
        proc = start_railgate(procs, text if path is None else path.read_text(), name=f"railgate-{round}")
        path = proc.config_path
        socket_path = procs.tmp / "control.sock"
        assert wait_for(lambda: socket_path.exists() and proc.poll() is None, 10), log_of(proc)
        before = path.read_text()
        poll = 100 + 10 * round
        commit = subprocess.Popen([RAILGATE, "console", "--socket", socket_path], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        commit.stdin.write(f"configure\nset south[0].devices[0].poll_ms {poll}\ncommit round {round}\nexit\nexit\n")
        commit.stdin.close()
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        commit.wait(15)
        after = path.read_text()
        document = yaml.safe_load(after)
        assert after == before or document["south"][0]["devices"][0]["poll_ms"] == poll, after
        # The file the next start reads is whole: it is accepted.
        check = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
    # And the audit trail the commits and kills left is one unbroken chain.
    verify = subprocess.run([RAILGATE, "audit", "verify", "--file", procs.tmp / "audit.log"], capture_output=True,
                            text=True, timeout=30)
    assert verify.returncode == 0, verify.stdout + verify.stderr
