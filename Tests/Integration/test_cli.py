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


def test_check_describes_the_mes_mapping_of_the_packaging_line_example():
    result = run("check", "--config", ROOT / "examples" / "packaging-line.yaml")
    assert result.returncode == 0, result.stderr
    for line in ["map stop_reason: 5 code(s), used by filler/stop_reason",
                 "equipment FIL-01: device filler, WorkUnit in work center PACK-L3",
                 "shifts: early 06:00–14:00, late 14:00–22:00, night 22:00–06:00; rolling 60 min; state /var/lib/railgate/kpi.json",
                 "kpi line3: state filler/state, total filler/bottles_total, good filler/bottles_good, ideal cycle 0.1 s → 20 tags",
                 "topics railgate/acme/plant1/packaging/<work center>/<equipment id>/<tag>",
                 "history: /var/lib/railgate/history, 13 tag(s), 41 of 64 MiB on disk, fsync every 1000 ms, at most 10000 values per HistoryRead",
                 "  line3/oee: the newest 20000 values",
                 "alarms: 3, each an OPC UA condition and a state tag",
                 "  filler/tank_temp_limits: filler/tank_temperature limits high_high 35.0, high 32.0, low 2.0, deadband 1.0, severity 700"]:
        assert line in result.stdout, result.stdout


def test_missing_file_is_a_clear_error(tmp_path):
    result = run("check", "--config", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file or directory" in result.stderr


VALID = "gateway: {id: gw, isa95: {enterprise: acme}}\nsouth: []\n"


def check_error(tmp_path, content, name="bad.yaml"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = run("check", "--config", path)
    assert result.returncode == 2, result.stdout + result.stderr
    return path, result.stderr


def test_files_that_are_not_configurations_are_named_with_their_line(tmp_path):
    result = run("check", "--config", tmp_path)
    assert result.returncode == 2 and f"{tmp_path}: is a directory, not a file" in result.stderr, result.stderr
    path, stderr = check_error(tmp_path, "gateway:\n  id: caf\xe9\n".encode("latin-1"))
    assert f"{path}:2: column 10: byte 0xE9 is not UTF-8 (save the file as UTF-8)" in stderr, stderr
    path, stderr = check_error(tmp_path, VALID + "mqtt:\n  host: a\n  port: 1883\n  host: b\n")
    assert f"{path}:6: duplicate key \"host\" (first at line 4)" in stderr, stderr
    path, stderr = check_error(tmp_path, "x" * (4 << 20) + "\n")
    assert "at most 4194304 are read" in stderr, stderr


def test_an_unknown_unit_is_refused_with_its_line_and_the_closest_units(tmp_path):
    tags = "[{name: t, ref: 400001, unit: degc}, {name: e, ref: 400002, unit: kWh}]"
    path, stderr = check_error(tmp_path, VALID.replace("south: []\n", f"""south:
  - {{name: tcp1, protocol: modbus-tcp, host: 127.0.0.1, devices: [{{name: m1, unit: 1, tags: {tags}}}]}}
"""))
    assert f'{path}:3: south[0].devices[0].tags[0].unit: unknown unit "degc"' in stderr, stderr
    assert "closest: " in stderr and "degC (°C, degree Celsius)" in stderr, stderr
    assert "tags[1]" not in stderr, stderr


def test_yaml_bombs_are_refused_quickly(tmp_path):
    # Aliases of aliases: ten levels of ten expand to 10¹⁰ nodes from under 1 KB.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path, stderr = check_error(tmp_path, VALID + "\n".join(lines) + "\nextra: *a9\n")
    assert "the YAML expands to more than 2000000 nodes (aliases of aliases?)" in stderr, stderr
    # A mapping key is a single value, never an alias or a collection (a key made of aliases
    # of aliases would otherwise be compared whole against every other key).
    for key, message in [("? *k0\n: 1", "an alias may not be a mapping key"),
                         ("x: {*k0: 1}", "an alias may not be a mapping key"),
                         ("[*k0]: 1", "a list or mapping may not be a mapping key"),
                         ("{a: 1}: 1", "a list or mapping may not be a mapping key")]:
        path, stderr = check_error(tmp_path, VALID + "k0: &k0 {a: 1}\n" + key + "\n")
        assert f"{path}:4: {message}" in stderr, stderr
    # Aliases where values go are fine.
    path = tmp_path / "anchors.yaml"
    path.write_text(VALID.replace("south: []", "mqtt: &m {host: 127.0.0.1, port: 1883}") + "south: []\n")
    assert run("check", "--config", path).returncode == 0
    path, stderr = check_error(tmp_path, VALID + "deep: " + "[" * 100000 + "]" * 100000 + "\n")
    assert f"{path}:3: YAML nested deeper than 64 levels" in stderr, stderr


def test_demo_prints_the_example_configuration():
    result = run("demo")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "examples" / "demo.yaml").read_text()


def test_version():
    result = run("version")
    assert result.returncode == 0 and result.stdout.startswith("railgate ")
