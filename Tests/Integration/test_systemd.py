"""Railgate as a systemd service, without systemd as PID 1 here: the
notification protocol against a socket that plays systemd (READY, STATUS,
WATCHDOG fed from the sampling core, STOPPING), and the unit files checked by
systemd-analyze (verify, security exposure)."""

import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import RAILGATE, ROOT, log_of, start_railgate, start_sim_tcp, stop_gracefully, tcp_bus_yaml, wait_for

UNIT = ROOT / "systemd" / "railgate.service"


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET: keeps every datagram with its arrival time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.path = path
        self.messages = []

    def collect(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096).decode()
                self.messages.append((time.monotonic(), data))
            except socket.timeout:
                pass

    def times(self, assignment):
        return [t for t, m in self.messages if assignment in m.split("\n")]


def config(sim):
    return f"""
gateway: {{id: sd-gw, isa95: {{enterprise: acme}}}}
south:
{tcp_bus_yaml("tcp1", sim, "meter1")}"""


def test_ready_status_and_watchdog_from_the_sampling_core(procs):
    sim = start_sim_tcp(procs, units="1")
    systemd = FakeSystemd(procs.tmp / "notify.sock")
    proc = start_railgate(procs, config(sim), args=["--debug-stall-after", "3"],
                          env={"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "1000000"})
    systemd.collect(2.5)
    ready = [m for _, m in systemd.messages if "READY=1" in m.split("\n")]
    assert ready and "STATUS=running: " in ready[0], systemd.messages
    # The status refreshed as tags turn good keeps its mode in front.
    refreshed = [m for _, m in systemd.messages if m.startswith("STATUS=")]
    assert any("tags good" in m for m in refreshed), systemd.messages
    assert all(m.startswith("STATUS=running: ") for m in refreshed), refreshed
    # Fed twice per period while the core runs.
    assert len(systemd.times("WATCHDOG=1")) >= 3, systemd.messages
    # The engine stops coming round at 3 s: no more WATCHDOG=1, and the log says why.
    systemd.collect(3.0)
    pings = systemd.times("WATCHDOG=1")
    assert time.monotonic() - pings[-1] > 1.5, systemd.messages
    assert wait_for(lambda: "sampling core stalled" in log_of(proc), 5), log_of(proc)
    assert "part=tag engine" in log_of(proc)
    proc.kill()


def test_stopping_is_announced(procs):
    sim = start_sim_tcp(procs, units="1")
    systemd = FakeSystemd(procs.tmp / "notify.sock")
    proc = start_railgate(procs, config(sim), env={"NOTIFY_SOCKET": str(systemd.path)})
    systemd.collect(1.5)
    assert systemd.times("READY=1")
    assert stop_gracefully(proc) == 0
    systemd.collect(0.5)
    assert systemd.times("STOPPING=1")
    # Without WATCHDOG_USEC nothing pings.
    assert not systemd.times("WATCHDOG=1")


def test_a_rejected_configuration_runs_the_last_good_one(procs):
    sim = start_sim_tcp(procs, units="1")
    last_good = procs.tmp / "last-good.yaml"
    systemd = FakeSystemd(procs.tmp / "notify.sock")
    proc = start_railgate(procs, config(sim), args=["--last-good", last_good])
    assert wait_for(lambda: last_good.exists() and "device answering" in log_of(proc)), log_of(proc)
    assert stop_gracefully(proc) == 0
    # A bad edit (or a release that no longer accepts the file): the last good configuration runs, and says so.
    bad = config(sim).replace("tags: [{name: speed, ref: 400006}]", "tags: [{name: speed, ref: 400006, type: flaot32}]")
    proc = start_railgate(procs, bad, name="railgate-2", args=["--last-good", last_good],
                          env={"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "1000000"})
    assert wait_for(lambda: "device answering" in log_of(proc)), log_of(proc)
    assert 'unknown type "flaot32"' in log_of(proc)
    assert "configuration rejected; running the last configuration that started" in log_of(proc)
    systemd.collect(1.5)
    assert any("STATUS=running the LAST GOOD configuration" in m for _, m in systemd.messages), systemd.messages
    # Every refresh of the status line (twice a watchdog period) still says so.
    refreshed = [m for _, m in systemd.messages if m.startswith("STATUS=")]
    assert refreshed and all(m.startswith("STATUS=running the LAST GOOD configuration") for m in refreshed), refreshed
    assert "flaot32" not in last_good.read_text()
    assert stop_gracefully(proc) == 0
    # Without a last good copy a rejected file ends with exit code 2 and its reason.
    proc = start_railgate(procs, bad, name="railgate-3")
    assert proc.wait(timeout=15) == 2 and 'unknown type "flaot32"' in log_of(proc)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_verify_and_expose_little(tmp_path):
    # systemd-analyze verify wants the binary the unit names: point it at the built one.
    units = []
    for name in ["railgate.service"]:
        text = (ROOT / "systemd" / name).read_text().replace("/usr/bin/railgate", str(RAILGATE))
        target = tmp_path / name
        target.write_text(text)
        units.append(target)
    verify = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    # verify exits 0 on some faults (an unknown key only warns): no word about our unit either.
    assert verify.returncode == 0 and "railgate.service" not in verify.stderr, verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=true", units[0]], capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout + security.stderr)
    assert match, security.stdout + security.stderr
    assert float(match.group(1)) <= 2.0, security.stdout
