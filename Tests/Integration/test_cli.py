"""The railgate command line: check, run with a bad file, demo, version."""

import subprocess

from conftest import RAILGATE, ROOT

BAD = """gateway:
  id: gw1
  isa95: {enterprise: acme}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    devices:
      - name: meter
        unit: 1
        tags:
          - {name: a, ref: 400050, type: flaot32}
          - {name: b, ref: 400001, type: uint16}
          - {name: c, ref: 465536, type: uint32}
          - {name: d, ref: 400100, type: string, length: 126}
          - {name: e, ref: 400300, type: string, length: 0}
          - {name: b, ref: 400400}
          - {name: g, ref: 400001, type: int16}
  - name: rtu1
    protocol: modbus-rtu
    serial: {baud: 9600, parity: Q}
    devices:
      - {name: drive, unit: 1, tags: [{name: f, ref: 300001}]}
"""


def run(*args, stdin=None):
    return subprocess.run([str(RAILGATE), *map(str, args)], capture_output=True, text=True, timeout=30)


def test_check_lists_every_error_with_file_line_and_path(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(BAD)
    result = run("check", "--config", config)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    expected = [
        f'{config}:12: south[0].devices[0].tags[0].type: unknown type "flaot32"',
        f'{config}:18: south[0].devices[0].tags[6]: holding-register 0…0 overlaps tag "b" at 0…0',
        f"{config}:14: south[0].devices[0].tags[2].address: tag spans 65535…65536, past the last address 65535",
        f"{config}:15: south[0].devices[0].tags[3].length: tag spans 126 registers",
        f"{config}:16: south[0].devices[0].tags[4].length: a string needs length",
        f'{config}:17: south[0].devices[0].tags[5].name: duplicate tag name "b"',
        f'{config}:21: south[1].serial: missing required key "device"',
        f'{config}:21: south[1].serial.parity: unknown parity "Q"',
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), f"missing: {prefix}\n{result.stderr}"
    assert lines[-1] == f"{config}: 8 errors; configuration not accepted"


def test_run_refuses_to_start_on_a_bad_file(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(BAD)
    result = run("run", "--config", config)
    assert result.returncode == 2
    assert "configuration not accepted" in result.stderr
    assert "railgate running" not in result.stderr


def test_check_prints_the_read_plan():
    result = run("check", "--config", ROOT / "examples" / "demo.yaml")
    assert result.returncode == 0, result.stderr
    assert "unit 1 holding-register 0…27 (28) → 8 tags" in result.stdout
    assert "read plan: 3 request(s) per cycle for 10 tags" in result.stdout
    assert "schema 1 → 2" not in result.stdout  # the example is written in the current schema


def test_missing_file_is_a_clear_error(tmp_path):
    result = run("check", "--config", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert "cannot read file" in result.stderr


def test_demo_prints_the_example_configuration():
    result = run("demo")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "examples" / "demo.yaml").read_text()


def test_version():
    result = run("version")
    assert result.returncode == 0 and result.stdout.startswith("railgate ")
