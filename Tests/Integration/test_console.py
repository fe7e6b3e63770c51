"""The serial console, driven through a PTY as a technician would (pexpect):
live values, writes, candidate configuration with commit, commit confirmed,
rollback, two consoles at once, refusals, and the audit trail they leave."""

import os
import shutil
import subprocess
import tempfile
import time

import pexpect
import pytest

from conftest import RAILGATE, log_of, read_audit, start_railgate, start_sim_tcp, wait_for

PROMPT = r"railgate[>#] "


def console_config(tmp, sim_port, socket=None, mqtt=""):
    return f"""gateway:
  id: console-gw
  isa95: {{enterprise: acme}}
  writes: true
  audit_file: {tmp}/audit.log
console:
  socket: {socket or f"{tmp}/control.sock"}
  history_dir: {tmp}/history
{mqtt}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - name: meter1
        unit: 1
        poll_ms: 200
        tags:
          - {{name: speed, ref: 400006, unit: rpm}}
          - {{name: setpoint, ref: 400041, writable: true}}
"""


@pytest.fixture
def gateway(procs):
    sim = start_sim_tcp(procs, units="1")
    proc = start_railgate(procs, console_config(procs.tmp, sim))
    socket_path = procs.tmp / "control.sock"
    assert wait_for(lambda: socket_path.exists()), log_of(proc)
    proc.socket = socket_path
    proc.tmp = procs.tmp
    return proc


def open_console(gateway):
    child = pexpect.spawn(str(RAILGATE), ["console", "--socket", str(gateway.socket)], encoding="utf-8",
                          timeout=15, dimensions=(24, 80), env={**os.environ, "TERM": "vt100"})
    child.expect("Railgate console")
    child.expect(PROMPT)
    return child


def run(child, command):
    """Types a command and returns what the console printed before the next prompt."""
    child.sendline(command)
    child.expect(PROMPT)
    # The first line is the command as echoed by the line editor.
    return child.before.replace("\r", "").split("\n", 1)[-1] if "\n" in child.before else ""


def audit_events(gateway):
    return read_audit(gateway.tmp / "audit.log")


def test_show_write_and_monitor(gateway):
    child = open_console(gateway)
    assert wait_for(lambda: "1450 rpm" in run(child, "show tags"), 10)
    detail = run(child, "show tag meter1/speed")
    assert "acme/meter1/speed" in detail and "quality   good" in detail
    assert "bus tcp1 (modbus-tcp 127.0.0.1:" in detail and "holding-register 5, uint16 ABCD" in detail
    assert "console-gw (acme)" in run(child, "show status")
    assert "meter1" in run(child, "show devices")
    assert "done" in run(child, "write tag meter1/setpoint 612")
    assert wait_for(lambda: "612" in run(child, "show tags meter1/set*"), 10)
    assert "a number (uint16), not \"fast\"" in run(child, "write tag meter1/setpoint fast")
    assert 'did you mean "meter1/speed"?' in run(child, "show tag meter1/sped")
    assert 'unknown command "shwo"; did you mean "show"?' in run(child, "shwo tags")
    # Commissioning helpers: a raw read on the bus's own thread, and the broker check.
    raw = run(child, "diag modbus read tcp1 1 holding-register 5 2")
    assert "5      0x05AA  1450  1450" in raw, raw
    assert 'unknown table "holding-regster"; did you mean "holding-register"?' in run(child, "diag modbus read tcp1 1 holding-regster 5 1")
    assert "illegal data address" in run(child, "diag modbus read tcp1 1 holding-register 99 5").lower()
    assert 'no Modbus bus "tcp9" (buses: tcp1)' in run(child, "diag modbus read tcp9 1 holding-register 5 1")
    assert "no mqtt section" in run(child, "test mqtt")
    # Tab completion of commands and tag names: "sho<tab>tag meter1/sp<tab>" runs "show tag meter1/speed".
    child.send("sho\t")
    time.sleep(0.3)
    child.send("tag meter1/sp\t")
    time.sleep(0.3)
    child.sendline("")
    child.expect("tag       acme/meter1/speed")
    child.expect(PROMPT)
    # monitor runs until a key is pressed.
    child.sendline("monitor tag meter1/speed meter1/setpoint")
    child.expect("press any key to stop")
    child.expect("meter1/setpoint +612")
    child.send("x")
    child.expect(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    # The logout is audited once the gateway has seen the session close, after the client's EOF.
    assert wait_for(lambda: {"console login", "console logout"} <= {e["event"] for e in audit_events(gateway)}, 10), \
        audit_events(gateway)
    writes = [e for e in audit_events(gateway) if e["event"] == "write"]
    assert writes and writes[0]["user"].startswith("console:root (uid 0)")


def test_test_mqtt_checks_the_broker(procs, broker):
    sim = start_sim_tcp(procs, units="1")
    proc = start_railgate(procs, console_config(procs.tmp, sim, mqtt=f"mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: con-test}}"))
    assert wait_for(lambda: (procs.tmp / "control.sock").exists()), log_of(proc)
    proc.socket, proc.tmp = procs.tmp / "control.sock", procs.tmp
    child = open_console(proc)
    out = run(child, "test mqtt")
    assert f"broker 127.0.0.1:{broker}: connected in" in out and "con-test/status/console-gw/test acknowledged in" in out, out
    assert "running publisher:" in out


def test_set_validate_commit_changes_the_live_tags_and_rollback_restores(gateway):
    child = open_console(gateway)
    run(child, "configure")
    assert run(child, "set south[tcp1].devices[meter1].tags[+] {name: counter, ref: 400007, type: uint32}").strip() == ""
    compare = run(child, "show | compare")
    assert "+     - name: counter" in compare and "+       ref: 400007" in compare
    assert "configuration check succeeds" in run(child, "validate")
    assert "commit complete" in run(child, "commit counter for the MES")
    run(child, "exit")
    assert wait_for(lambda: "123456789" in run(child, "show tags meter1/counter"), 10)
    assert "name: counter" in (gateway.tmp / "railgate.yaml").read_text()
    commit = [e for e in audit_events(gateway) if e["event"] == "commit"][0]
    assert commit["details"]["comment"] == "counter for the MES" and "+       ref: 400007" in commit["details"]["diff"]
    assert commit["user"] == "root (uid 0)"
    # Polling of the unchanged device went on across the commit.
    assert "meter1/speed" in run(child, "show tags")

    run(child, "configure")
    assert "loaded into the candidate" in run(child, "rollback 1")
    assert "-     - name: counter" in run(child, "show | compare")
    assert "commit complete" in run(child, "commit back to the meter alone")
    run(child, "exit")
    assert "no tag matches" in run(child, "show tags meter1/counter")
    assert "counter" not in (gateway.tmp / "railgate.yaml").read_text()
    run(child, "configure")
    assert "rollback takes 1…10" in run(child, "rollback 0")
    assert "no configuration 3 commits back (2 kept)" in run(child, "rollback 3")


def test_a_commit_keeps_unchanged_buses_polling(procs):
    sim1, sim2 = start_sim_tcp(procs, units="1"), start_sim_tcp(procs, units="1")
    config = console_config(procs.tmp, sim1) + f"""  - name: tcp2
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim2}
    devices:
      - {{name: meter2, unit: 1, poll_ms: 200, tags: [{{name: speed, ref: 400006}}]}}
"""
    proc = start_railgate(procs, config)
    assert wait_for(lambda: (procs.tmp / "control.sock").exists()), log_of(proc)
    proc.socket, proc.tmp = procs.tmp / "control.sock", procs.tmp
    child = open_console(proc)
    assert wait_for(lambda: "1450" in run(child, "show tags meter2/speed"), 10)
    run(child, "configure")
    run(child, "set south[tcp2].devices[meter2].poll_ms 300")
    assert "commit complete" in run(child, "commit slower meter2")
    run(child, "exit")
    assert wait_for(lambda: "south_kept_running=1 south_started=1" in log_of(proc)), log_of(proc)
    assert wait_for(lambda: "1450" in run(child, "show tags meter2/speed"), 10)
    connected = [line for line in log_of(proc).splitlines() if "bus connected" in line]
    assert len([line for line in connected if "bus=tcp1" in line]) == 1, connected
    assert len([line for line in connected if "bus=tcp2" in line]) == 2, connected
    # The kept bus still feeds the new engine: a write and its new value.
    assert "done" in run(child, "write tag meter1/setpoint 613")
    assert wait_for(lambda: "613" in run(child, "show tags meter1/setpoint"), 10)


def test_bad_set_is_refused_and_the_candidate_stays(gateway):
    child = open_console(gateway)
    run(child, "configure")
    out = run(child, "set south[tcp1].devices[meter1].poll_ms fast")
    assert 'south[0].devices[0].poll_ms: expected an integer, found "fast"' in out and "the candidate is unchanged" in out
    out = run(child, "set gateway.writs false")
    assert 'unknown key "writs"' in out and 'did you mean "writes"?' in out
    out = run(child, "set south[tcp9].port 502")
    assert "no such list element (names: tcp1" in out
    assert "unknown command \"comit\"; did you mean \"commit\"?" in run(child, "comit")
    assert "no changes" in run(child, "show | compare")
    # A candidate that does not validate is not committed; nothing is half-applied.
    run(child, "set south[tcp1].devices[meter1].tags[+] {name: bad, ref: 400090, type: flaot32}")
    out = run(child, "commit")
    assert "commit refused; nothing applied" in out and 'unknown type "flaot32"' in out
    assert "flaot32" not in (gateway.tmp / "railgate.yaml").read_text()
    assert not [e for e in audit_events(gateway) if e["event"] == "commit"]
    assert "candidate discarded" in run(child, "discard")
    assert "no changes" in run(child, "show | compare")


def test_commit_confirmed_rolls_back_by_itself_after_the_console_is_gone(gateway):
    child = open_console(gateway)
    run(child, "configure")
    run(child, "set south[tcp1].devices[meter1].tags[+] {name: counter, ref: 400007, type: uint32}")
    out = run(child, "commit confirmed 0.5 trying the counter")
    assert "returns in 0.5 min unless you enter \"confirm\"" in out
    run(child, "exit")
    assert wait_for(lambda: "123456789" in run(child, "show tags meter1/counter"), 10)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    # Nobody confirms: after 30 s the previous configuration is back.
    assert wait_for(lambda: any(e["event"] == "rollback" for e in audit_events(gateway)), 60)
    rollback = [e for e in audit_events(gateway) if e["event"] == "rollback"][0]
    assert "was not confirmed" in rollback["user"] and "-     - name: counter" in rollback["details"]["diff"]
    assert "counter" not in (gateway.tmp / "railgate.yaml").read_text()
    child = open_console(gateway)
    assert "no tag matches" in run(child, "show tags meter1/counter")


def test_confirm_keeps_a_commit_confirmed(gateway):
    child = open_console(gateway)
    run(child, "configure")
    run(child, "set south[tcp1].devices[meter1].poll_ms 300")
    assert "commit confirmed" in run(child, "commit confirmed 0.05")
    assert "commit confirmed" in run(child, "confirm")
    time.sleep(4)
    assert not [e for e in audit_events(gateway) if e["event"] == "rollback"]
    assert "poll_ms: 300" in (gateway.tmp / "railgate.yaml").read_text()
    assert [e for e in audit_events(gateway) if e["event"] == "confirm"]


def test_two_consoles_keep_their_own_candidates(gateway):
    a, b = open_console(gateway), open_console(gateway)
    run(a, "configure")
    run(b, "configure")
    run(a, "set south[tcp1].devices[meter1].poll_ms 300")
    run(b, "set south[tcp1].devices[meter1].tags[speed].unit r/min")
    assert "poll_ms" not in run(b, "show | compare")
    assert "commit complete" in run(a, "commit from A")
    # B's candidate was copied from the configuration A replaced: refused, nothing lost or mixed.
    assert "the running configuration changed since you entered configure" in run(b, "commit from B")
    assert "r/min" in run(b, "show | compare")
    run(b, "discard")
    run(b, "set south[tcp1].devices[meter1].tags[speed].unit r/min")
    assert "commit complete" in run(b, "commit from B again")
    text = (gateway.tmp / "railgate.yaml").read_text()
    assert "poll_ms: 300" in text and "unit: r/min" in text


def test_tampering_with_the_console_trail_is_detected(gateway):
    child = open_console(gateway)
    run(child, "configure")
    run(child, "set south[tcp1].devices[meter1].poll_ms 250")
    run(child, "commit tamper test")
    run(child, "exit")
    trail = gateway.tmp / "audit.log"
    ok = subprocess.run([RAILGATE, "audit", "verify", "--file", trail], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    lines = trail.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '"event":"commit"' in line)
    lines[index] = lines[index].replace("tamper test", "nothing to see")
    trail.write_text("\n".join(lines) + "\n")
    bad = subprocess.run([RAILGATE, "audit", "verify", "--file", trail], capture_output=True, text=True)
    assert bad.returncode == 1 and f"audit.log:{index + 1}: entry {index + 1} was altered" in bad.stderr, bad.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is needed to drop privileges")
def test_a_user_outside_the_group_is_refused(procs):
    # A socket directory other users can reach (the test's own tmp directory is private).
    directory = tempfile.mkdtemp(prefix="rg-console-")
    os.chmod(directory, 0o755)
    try:
        sim = start_sim_tcp(procs, units="1")
        socket_path = f"{directory}/control.sock"
        proc = start_railgate(procs, console_config(procs.tmp, sim, socket=socket_path))
        assert wait_for(lambda: os.path.exists(socket_path)), log_of(proc)
        # A copy of the binary the other user can execute wherever the checkout lives.
        binary = f"{directory}/railgate"
        shutil.copy(RAILGATE, binary)
        os.chmod(binary, 0o755)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "console",
                  "--socket", socket_path]
        # The socket is 0660: the kernel refuses the connection.
        assert oct(os.stat(socket_path).st_mode & 0o777) == "0o660"
        result = subprocess.run(nobody, input="show status\n", capture_output=True, text=True, timeout=15)
        assert result.returncode == 1 and "permission denied" in result.stderr, result.stderr
        # Even when the file mode lets anyone connect, the gateway checks the peer's uid (SO_PEERCRED).
        os.chmod(socket_path, 0o666)
        result = subprocess.run(nobody, input="show status\n", capture_output=True, text=True, timeout=15)
        assert result.returncode == 1 and "(uid 65534) is not in group railgate" in result.stderr, result.stderr
        events = read_audit(procs.tmp / "audit.log")
        refused = [e for e in events if e["event"] == "console refused"]
        assert refused and "uid 65534" in refused[0]["user"]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
