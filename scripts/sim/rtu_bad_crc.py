#!/usr/bin/env python3
"""Fault injection for Modbus RTU: answers every read request on a serial
line with a well-formed response whose CRC is wrong.

pymodbus cannot be told to corrupt its CRC, so this small responder stands
in for a device on a noisy line. It reads an 8-byte request (FC 1-4:
unit, function, start, count, CRC), and sends back unit, function, byte
count, zero data and the CRC with its bits inverted.
"""

import argparse
import os
import sys

import serial  # pyserial


def crc16(frame: bytes) -> int:
    """Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF),
    Modbus over serial line V1.02 §6.2.2."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("device")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID")
    args = parser.parse_args()
    line = serial.Serial(args.device, 19200, timeout=0.5)
    print(f"rtu_bad_crc: answering with bad CRCs on {args.device}", flush=True)
    while args.exit_with_parent is None or os.getppid() == args.exit_with_parent:
        request = line.read(8)
        if len(request) < 8 or request[1] not in (1, 2, 3, 4):
            line.reset_input_buffer()
            continue
        unit, function = request[0], request[1]
        count = int.from_bytes(request[4:6], "big")
        size = (count + 7) // 8 if function in (1, 2) else count * 2
        body = bytes([unit, function, size]) + bytes(size)
        bad = crc16(body) ^ 0xFFFF
        line.write(body + bad.to_bytes(2, "little"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
