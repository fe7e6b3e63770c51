#!/usr/bin/env python3
"""Simulated Modbus devices for Railgate's demo and tests (pymodbus).

Serves a known register image on Modbus TCP or on a serial line (RTU), for
one or more unit ids. Every unit holds the same layout; values that differ
per unit add the unit id, so a reader can tell units apart.

Holding registers (0-based wire address):
    0-1    float32 ABCD  230.5              voltage
    2-3    float32 CDAB  12.25              current (words swapped)
    4      int16         -125               temperature x10
    5      uint16        1449 + unit        speed, rpm
    6-7    uint32 ABCD   123456789          counter
    8-11   int64  ABCD   -9876543210        energy, Wh
    12-15  float64 ABCD  3.14159265358979   pi
    16     uint16        0x0005             status word (bits 0 and 2 set)
    17     uint16 BADC   0x1234 (sent as 0x3412)
    20-27  string        "RG-METER-01"      8 registers, NUL padded
    40     uint16        500                setpoint (writable)
    41-42  float32 ABCD  20.0               temperature setpoint (writable)
    0-99 exist; reading from 100 on answers exception 2 (illegal data address).
Input registers: 0 uint16 777 + unit; 1-2 float32 ABCD 50.0 (Hz). 0-19 exist.
Coils 0-15: 0 on, 3 on, rest off. Discrete inputs 0-15: 0 and 1 on.
A unit id not served gets no answer at all (the master times out).

Fault injection by address, as libmodbus's own test server does it: the
address map above ends at 99 for holding registers, so a read reaching 100
gets exception 2.
"""

import argparse
import asyncio
import logging
import os
import struct
import sys

from pymodbus import FramerType
from pymodbus.datastore import (ModbusDeviceContext, ModbusSequentialDataBlock,
                                ModbusServerContext)
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.simulator.simcore import SimCore

HOLDING_SIZE = 100
INPUT_SIZE = 20
BITS_SIZE = 16


def words(fmt, value):
    """Big-endian registers of a packed value."""
    raw = struct.pack(">" + fmt, value)
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


def holding_image(unit):
    regs = [0] * HOLDING_SIZE
    regs[0:2] = words("f", 230.5)
    regs[2:4] = list(reversed(words("f", 12.25)))
    regs[4:5] = words("h", -125)
    regs[5] = 1449 + unit
    regs[6:8] = words("I", 123456789)
    regs[8:12] = words("q", -9876543210)
    regs[12:16] = words("d", 3.14159265358979)
    regs[16] = 0x0005
    regs[17] = 0x3412
    text = b"RG-METER-01".ljust(16, b"\0")
    regs[20:28] = [int.from_bytes(text[i:i + 2], "big") for i in range(0, 16, 2)]
    regs[40] = 500
    regs[41:43] = words("f", 20.0)
    return regs


def input_image(unit):
    regs = [0] * INPUT_SIZE
    regs[0] = 777 + unit
    regs[1:3] = words("f", 50.0)
    return regs


def device(unit):
    coils = [False] * BITS_SIZE
    coils[0] = coils[3] = True
    discretes = [False] * BITS_SIZE
    discretes[0] = discretes[1] = True
    # pymodbus blocks start at 1: block address 1 is wire address 0.
    return ModbusDeviceContext(
        co=ModbusSequentialDataBlock(1, coils),
        di=ModbusSequentialDataBlock(1, discretes),
        hr=ModbusSequentialDataBlock(1, holding_image(unit)),
        ir=ModbusSequentialDataBlock(1, input_image(unit)),
    )


def stay_silent_for_unknown_units():
    """pymodbus 3.16 answers a unit id it does not serve with exception 4,
    despite ignore_missing_devices. A real RS-485 line stays silent for an
    absent slave, so restore that: the request handler drops requests that
    raise NoSuchIdException."""

    def get_device(self, device_id):
        if device_id not in self.devices:
            raise NoSuchIdException(f"unit {device_id} not served")
        return self.devices[device_id]

    SimCore._SimCore__get_device = get_device


async def serve(args):
    stay_silent_for_unknown_units()
    units = [int(u) for u in args.units.split(",")]
    context = ModbusServerContext(devices={u: device(u) for u in units}, single=False)
    if args.tcp is not None:
        server = StartAsyncTcpServer(context=context, address=(args.host, args.tcp),
                                     ignore_missing_devices=True)
    else:
        server = StartAsyncSerialServer(context=context, framer=FramerType.RTU, port=args.rtu,
                                        baudrate=args.baud, parity="N", bytesize=8, stopbits=1,
                                        ignore_missing_devices=True)
    print(f"modbus_sim: serving units {units} on "
          f"{f'{args.host}:{args.tcp}' if args.tcp is not None else args.rtu}", flush=True)
    await server


async def exit_with_parent(pid):
    """Ends the simulator when the process that started it has exited (this
    process is then re-parented, even while the old parent is a zombie)."""
    while os.getppid() == pid:
        await asyncio.sleep(0.5)
    os._exit(0)


async def run(args):
    if args.exit_with_parent:
        asyncio.ensure_future(exit_with_parent(args.exit_with_parent))
    await serve(args)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve Modbus TCP on this port")
    where.add_argument("--rtu", metavar="DEVICE", help="serve Modbus RTU on this serial device")
    parser.add_argument("--host", default="127.0.0.1", help="TCP address to bind (loopback only)")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--units", default="1", help="comma-separated unit ids, e.g. 1,2")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID",
                        help="exit when process PID is gone (for test harnesses)")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    try:
        asyncio.run(run(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
