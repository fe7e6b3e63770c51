#!/usr/bin/env python3
"""Instructions per sampling cycle, counted by valgrind's callgrind, against
the instructions libmodbus itself spends on the same reads.

Railgate polls the libmodbus C server (Benchmarks/modbus/server.c) over
Modbus TCP: one device, 11 tags of every numeric type, string and bit, over
holding and input registers (2 requests per cycle, every 10 ms), no north
side. callgrind counts each thread apart (--separate-threads); the bus thread
(poll → decode → ring) and the engine thread (ring → TagTable) are found by
their functions. Two runs of different lengths are subtracted, so start-up
and connection set-up cancel: instructions per cycle = ΔIr / Δcycles.

The reference is Benchmarks/modbus/client.c (modbus_read_registers in a
loop) under callgrind the same way: ΔIr / Δtransactions, times the requests
Railgate makes per cycle. Ratio = Railgate's cycle / libmodbus's reads alone;
what is above 1 is decoding, quality, timestamps, the ring and the engine.

valgrind cannot read the DWARF of Swift release builds, so the binary is run
from a copy without debug sections (objcopy --strip-debug; symbols stay)."""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import build_modbus, device_stats, free_port, record, wait_path  # noqa: E402

TAGS = """\
          - {name: voltage, ref: 400001, type: float32, deadband: 0.5}
          - {name: current, ref: 400003, type: float32, order: CDAB}
          - {name: temperature, ref: 400005, type: int16, scale: 0.1}
          - {name: speed, ref: 400006}
          - {name: counter, ref: 400007, type: uint32}
          - {name: energy, ref: 400009, type: int64}
          - {name: pi, ref: 400013, type: float64, order: DCBA}
          - {name: running, ref: 400017, type: bool, bit: 0}
          - {name: serial, ref: 400021, type: string, length: 8}
          - {name: frequency, ref: 300002, type: float32}
          - {name: power, ref: 300004, type: int32, scale: 0.01}
"""
CALLGRIND = ["valgrind", "--tool=callgrind", "--separate-threads=yes"]


def totals(path):
    match = re.search(r"^totals:\s+(\d+)", Path(path).read_text(errors="replace"), re.M)
    return int(match.group(1)) if match else 0


def thread_files(prefix, marker):
    """The callgrind files of a run whose thread ran a function named with `marker`."""
    return [p for p in Path(prefix).parent.glob(Path(prefix).name + "-*") if marker in p.read_text(errors="replace")]


def railgate_run(binary, work, port, seconds, tag):
    sock = work / f"control-{tag}.sock"
    config = work / f"cycle-{tag}.yaml"
    config.write_text(f"""gateway: {{id: bench, isa95: {{enterprise: bench}}}}
console: {{socket: {sock}, history_dir: {work}/history}}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {port}
    devices:
      - name: meter
        unit: 1
        poll_ms: 10
        tags:
{TAGS}""")
    prefix = work / f"rg-{tag}"
    gateway = subprocess.Popen([*CALLGRIND, f"--callgrind-out-file={prefix}.%p", binary, "run", "--config", config],
                               stdout=subprocess.DEVNULL, stderr=open(work / f"railgate-{tag}.log", "w"))
    try:
        wait_path(sock, timeout=120)
        time.sleep(seconds)
        stats = device_stats(sock)["meter"]
    finally:
        gateway.terminate()
        gateway.wait(timeout=120)
    prefix = Path(f"{prefix}.{gateway.pid}")
    bus = thread_files(prefix, "BusPollerC3run")
    engine = thread_files(prefix, "TagEngineC3run")
    if len(bus) != 1 or len(engine) != 1 or stats["errors"] or stats["cycles"] < 10:
        raise SystemExit(f"callgrind run {tag}: bus {bus}, engine {engine}, stats {stats}")
    everything = sum(totals(p) for p in prefix.parent.glob(prefix.name + "-*"))
    return {"cycles": stats["cycles"], "requests": stats["requests"], "bus": totals(bus[0]),
            "engine": totals(engine[0]), "process": everything, "files": (bus[0], engine[0])}


def client_run(work, port, seconds, tag):
    out = work / f"client-{tag}.out"
    result = subprocess.run([*CALLGRIND, f"--callgrind-out-file={out}", work / "client", str(port), str(seconds), "2"],
                            capture_output=True, text=True, timeout=seconds + 120, check=True)
    return {"transactions": int(result.stdout.split()[1]),
            "instructions": sum(totals(p) for p in work.glob(f"client-{tag}.out-*"))}


def top_functions(files, count=8):
    """The functions with the most own instructions in `files`, demangled."""
    rows = []
    for path in files:
        text = subprocess.run(["callgrind_annotate", "--threshold=100", str(path)], capture_output=True,
                              text=True).stdout
        for line in text.splitlines():
            match = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)", line)
            if match and "PROGRAM TOTALS" not in match.group(2):
                # "file:function [object]" → "function (object file name)"
                where = re.match(r"([^\s:(]*):(.*) \[(.*)\]$", match.group(2))
                name = f"{where.group(2)} ({Path(where.group(3)).name})" if where else match.group(2)
                rows.append((int(match.group(1).replace(",", "")), name))
    merged = {}
    for ir, name in rows:
        merged[name] = merged.get(name, 0) + ir
    top = sorted(merged.items(), key=lambda item: -item[1])[:count]
    names = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(n for n, _ in top),
                           capture_output=True, text=True).stdout.splitlines() if shutil.which("swift") else []
    return [(ir, names[i] if i < len(names) else name) for i, (name, ir) in enumerate(top)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--railgate", required=True)
    parser.add_argument("--short", type=float, default=3.0)
    parser.add_argument("--long", type=float, default=9.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-callgrind-") as tmp:
        work = Path(tmp)
        build_modbus(work)
        binary = work / "railgate"
        subprocess.run(["objcopy", "--strip-debug", args.railgate, binary], check=True)
        port = free_port()
        server = subprocess.Popen([work / "server", str(port), "600"], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "ready"
            short = railgate_run(binary, work, port, args.short, "short")
            long = railgate_run(binary, work, port, args.long, "long")
            c_short = client_run(work, port, 1, "short")
            c_long = client_run(work, port, 3, "long")
            top = top_functions(long["files"])
        finally:
            server.kill()
    cycles = long["cycles"] - short["cycles"]
    per_cycle = {key: (long[key] - short[key]) / cycles for key in ("bus", "engine", "process")}
    requests_per_cycle = (long["requests"] - short["requests"]) / cycles
    per_read = (c_long["instructions"] - c_short["instructions"]) / (c_long["transactions"] - c_short["transactions"])
    loop = per_cycle["bus"] + per_cycle["engine"]
    reference = per_read * requests_per_cycle
    print(f"{'per sampling cycle (11 tags, 2 requests)':<44} {'instructions':>12} {'vs libmodbus':>12}")
    print(f"{'bus thread: poll, decode, ring':<44} {per_cycle['bus']:>12.0f} {per_cycle['bus'] / reference:>12.2f}")
    print(f"{'engine thread: ring to TagTable':<44} {per_cycle['engine']:>12.0f} {per_cycle['engine'] / reference:>12.2f}")
    print(f"{'sampling loop (bus + engine)':<44} {loop:>12.0f} {loop / reference:>12.2f}")
    print(f"{'whole process (every thread)':<44} {per_cycle['process']:>12.0f} {per_cycle['process'] / reference:>12.2f}")
    print(f"{'C loop: %.0f × modbus_read_registers' % requests_per_cycle:<44} {reference:>12.0f} {1.0:>12.2f}")
    print(f"({cycles} cycles between the runs; the C loop's figure includes its clock_gettime per read)")
    print("most own instructions, bus + engine threads, longer run:")
    for ir, name in top:
        print(f"  {ir / (long['cycles']):>8.0f} per cycle  {name[:100]}")
    record("instructions_per_cycle", bus_thread=round(per_cycle["bus"]), engine_thread=round(per_cycle["engine"]),
           sampling_loop=round(loop), whole_process=round(per_cycle["process"]),
           libmodbus_reads=round(reference), requests_per_cycle=requests_per_cycle,
           loop_vs_libmodbus=round(loop / reference, 3), cycles=cycles,
           top_functions=[{"name": name, "per_cycle": round(ir / long["cycles"])} for ir, name in top])
    return 0


if __name__ == "__main__":
    sys.exit(main())
