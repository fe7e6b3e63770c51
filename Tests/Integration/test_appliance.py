"""The appliance: the image a gateway is flashed with, booted under QEMU
with real systemd as PID 1 and a kernel with SocketCAN (scripts/vmtest),
for amd64 (Debian 12, qemu-system-x86_64) and arm64 (the cross-built binary
on Debian 13, qemu-system-aarch64 -M virt). The checks run inside the VM at
boot (scripts/vm/appliance-test) and on its serial console
(scripts/vm/serial_console.py); each test here asserts the results of one
capability, once per architecture."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

QEMU = {"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or any(shutil.which(q) is None for q in QEMU.values()),
                                reason="the appliance VMs need root, qemu-system-x86_64 and qemu-system-aarch64 (scripts/setup)")


@pytest.fixture(scope="module")
def vm_runs(tmp_path_factory):
    """Starts scripts/vmtest for every architecture at once: each VM is one TCG thread, so the two
    share the machine's two cores instead of taking turns (≈ 6 min each)."""
    runs = {}
    for arch in sorted(QEMU):
        out = tmp_path_factory.mktemp(f"vmtest-{arch}")
        # Beside the output folder, which scripts/vmtest empties first.
        log = tmp_path_factory.mktemp(f"vmtest-{arch}-log") / "vmtest.stderr"
        with open(log, "w") as stderr:
            runs[arch] = (out, log, subprocess.Popen([ROOT / "scripts" / "vmtest", "--arch", arch, "--out", out],
                                                     stdout=subprocess.DEVNULL, stderr=stderr))
    yield runs
    for _, _, proc in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module", params=sorted(QEMU))
def vm(request, vm_runs):
    """Waits for the VM of one architecture and returns {check: (PASS|FAIL, details)} with the run's output."""
    arch = request.param
    out, log, proc = vm_runs[arch]
    try:
        proc.wait(timeout=3600)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    results, info = {}, {}
    lines = (out / "results.txt").read_text().splitlines() if (out / "results.txt").exists() else []
    for line in lines:
        words = line.split(" ", 3)
        if len(words) >= 3 and words[1] in ("PASS", "FAIL"):
            results[words[2]] = (words[1], words[3] if len(words) > 3 else "")
        elif len(words) >= 3 and words[1] == "INFO":
            info[words[2]] = words[3] if len(words) > 3 else ""
    print("\n".join(lines))
    stderr = log.read_text(errors="replace")
    return {"arch": arch, "results": results, "info": info, "lines": lines, "returncode": proc.returncode,
            "log": f"{stderr[-3000:]}\n--- console: {out / 'console.log'}"}


def assert_passed(vm, *checks):
    for check in checks:
        outcome = vm["results"].get(check)
        assert outcome is not None, f"{check}: no result from the VM\n{vm['log']}"
        assert outcome[0] == "PASS", f"{check}: {outcome[1]}\n{vm['log']}"


def test_the_vm_runs_every_check_and_powers_off(vm):
    assert any(line.startswith("RGTEST DONE") for line in vm["lines"]), vm["log"]
    # The VM powered itself off (QEMU exited 0 before the time limit).
    assert any(line.startswith("RGTEST TIMES") and line.endswith("qemu exit 0") for line in vm["lines"]), vm["log"]


def test_the_package_is_the_vms_own_architecture_and_runs_natively(vm):
    assert_passed(vm, "package-arch")
    assert f" {vm['arch']} on " in vm["results"]["package-arch"][1]
    assert vm["info"]["kernel"].endswith({"amd64": "x86_64", "arm64": "aarch64"}[vm["arch"]]), vm["info"]


def test_service_reaches_active_through_notify_with_a_status_and_little_exposure(vm):
    assert_passed(vm, "service-notify", "service-status", "service-log", "security")
    assert float(vm["info"]["exposure"].split()[0]) <= 2.0


def test_the_services_memory_is_reported(vm):
    # Figures for the footprint (docs/benchmarks.md): the packaged service's resident set on this architecture.
    memory = vm["info"].get("memory", "")
    assert re.search(r"VmRSS \d+ kB \(file \d+, anon \d+\)", memory), (memory, vm["log"])


def test_serial_console_answers_show_status(vm):
    assert_passed(vm, "serial-console")
    assert "gateway railgate-gw" in vm["results"]["serial-console"][1]


def test_socketcan_on_vcan(vm):
    assert_passed(vm, "vcan", "config-check", "can-decode", "can-open", "can-bitrate-refused", "can-write",
                  "can-root-bitrate", "can-root-read")


def test_a_stalled_core_is_restarted_by_the_watchdog_and_the_journal_kept(vm):
    assert_passed(vm, "watchdog-restart", "watchdog-journal")


def test_fleet_upgrade_keeps_configuration_journal_and_audit_trail_and_loses_no_sample(vm):
    assert_passed(vm, "upgrade-version", "upgrade-config", "upgrade-restart", "upgrade-journal", "upgrade-audit",
                  "upgrade-no-sample-lost")
