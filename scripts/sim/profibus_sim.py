#!/usr/bin/env python3
"""PROFIBUS-DP slave simulator on a serial line (a socat PTY end in tests).

Speaks the slave side of FDL (SD1/SD2/SD3 requests, SC and SD1/SD2 answers,
FCS, SAP extensions, FCB/FCV repetition) and the DPV0 slave state machine
(Wait_Prm -> Wait_Cfg -> Data_Exch, watchdog, Global_Control) for one or
more station addresses. Written from the PROFIBUS specification (EN 50170),
independently of Railgate's master, so that each checks the other; pyprofibus
checks it as a third party.

    profibus_sim.py --port /tmp/pb-b --control 15700 \
        --slave "addr=5,ident=0x5247,cfg=10 20 51,counter=0"

A slave spec: addr, ident (hex), cfg (identifier octets, hex), optional
counter=OFFSET (a 16-bit big-endian counter in the inputs, +1 per
Data_Exchange) and inputs=HEX (initial input image).

Control port (TCP on 127.0.0.1, one command per line, JSON answer):
    status                      every slave's state, images, parameters
    set ADDR OFFSET HEX         put octets into the input image
    mute ADDR / unmute ADDR     the station stops answering / comes back
                                (coming back is a power cycle: Wait_Prm)
    restart ADDR                power cycle now
    corrupt ADDR N              the next N answers carry a wrong FCS
    truncate ADDR N             the next N answers are cut in half
    garbage N                   N noise octets before the next answer
    ident ADDR HEX / cfg ADDR HEX   change what the station really is
    diag ADDR HEX / diag ADDR -     raise (or clear) extended diagnosis octets;
                                    the next Data_Exchange answer says "diagnosis high"
"""
import argparse
import json
import os
import select
import socket
import sys
import termios
import time
import tty

SD1, SD2, SD3, SD4, SC, ED = 0x10, 0x68, 0xA2, 0xDC, 0xE5, 0x16
# DP service access points
SAP_GLOBAL_CONTROL, SAP_GET_CFG, SAP_DIAG, SAP_SET_PRM, SAP_CHK_CFG = 58, 59, 60, 61, 62
# FC request functions
FC_SDN_LO, FC_SDN_HI, FC_FDL_STATUS, FC_SRD_LO, FC_SRD_HI, FC_SDA_LO, FC_SDA_HI = 0x04, 0x06, 0x09, 0x0C, 0x0D, 0x03, 0x05
# FC response functions
FC_OK, FC_RS, FC_DL, FC_DH = 0x00, 0x03, 0x08, 0x0A


def cfg_sizes(cfg):
    """(inputs, outputs) octets described by Chk_Cfg identifier octets."""
    inputs = outputs = 0
    i = 0
    while i < len(cfg):
        ident = cfg[i]
        i += 1
        if ident & 0x30:
            n = ((ident & 0x0F) + 1) * (2 if ident & 0x40 else 1)
            if ident & 0x10:
                inputs += n
            if ident & 0x20:
                outputs += n
            continue
        kind = ident >> 6
        def length(octet):
            return ((octet & 0x3F) + 1) * (2 if octet & 0x40 else 1)
        if kind & 2:
            outputs += length(cfg[i]); i += 1
        if kind & 1:
            inputs += length(cfg[i]); i += 1
        i += ident & 0x0F
    return inputs, outputs


class Slave:
    WAIT_PRM, WAIT_CFG, DATA_EXCH = "Wait_Prm", "Wait_Cfg", "Data_Exch"

    def __init__(self, addr, ident, cfg, counter=None, inputs=b""):
        self.addr = addr
        self.ident = ident
        self.cfg = bytes(cfg)
        self.counter = counter
        self.initial_inputs = bytes(inputs)
        self.muted = False
        self.corrupt = 0
        self.truncate = 0
        self.requests = 0
        self.power_cycle()

    def power_cycle(self):
        n_in, n_out = cfg_sizes(self.cfg)
        self.inputs = bytearray(n_in)
        self.inputs[:len(self.initial_inputs)] = self.initial_inputs[:n_in]
        self.outputs = bytearray(n_out)
        self.state = Slave.WAIT_PRM
        self.master = 0xFF
        self.prm = b""
        self.checked_cfg = b""
        self.prm_fault = self.cfg_fault = False
        self.watchdog_s = None
        self.last_seen = time.monotonic()
        self.last_fcb = None
        self.last_answer = None
        self.dx_count = 0
        self.frozen = None
        self.group = 0
        self.sync = False
        self.pending_outputs = None
        self.syncs = 0
        self.ext_diag = getattr(self, "ext_diag", b"")
        self.diag_new = False

    def diag(self):
        status1 = 0
        if self.state != Slave.DATA_EXCH:
            status1 |= 0x02                      # Station_Not_Ready
        if self.cfg_fault:
            status1 |= 0x04
        if self.prm_fault:
            status1 |= 0x40
        if self.ext_diag:
            status1 |= 0x08
        status2 = 0x04                           # always 1
        if self.state == Slave.WAIT_PRM:
            status2 |= 0x01                      # Prm_Req
        if self.watchdog_s is not None:
            status2 |= 0x08
        if self.sync:
            status2 |= 0x20
        self.diag_new = False
        return bytes([status1, status2, 0, self.master, self.ident >> 8, self.ident & 0xFF]) + self.ext_diag

    def check_watchdog(self, now):
        if self.state != Slave.WAIT_PRM and self.watchdog_s is not None and now - self.last_seen > self.watchdog_s:
            self.state = Slave.WAIT_PRM
            self.outputs = bytearray(len(self.outputs))
            self.master = 0xFF

    def status(self):
        return {"state": self.state, "ident": "0x%04X" % self.ident, "master": self.master,
                "inputs": self.inputs.hex(), "outputs": self.outputs.hex(), "prm": self.prm.hex(),
                "cfg": self.checked_cfg.hex(), "dx": self.dx_count, "muted": self.muted,
                "watchdog_ms": None if self.watchdog_s is None else round(self.watchdog_s * 1000),
                "requests": self.requests, "group": self.group, "sync": self.sync, "syncs": self.syncs}


def fcs(octets):
    return sum(octets) & 0xFF


def build(da, sa, fc, dsap=None, ssap=None, data=b""):
    """An answer telegram: SD1 without data, SD2 otherwise (with SAPs when given)."""
    if dsap is not None:
        body = bytes([da | 0x80, sa | 0x80, fc, dsap, ssap]) + bytes(data)
    else:
        body = bytes([da, sa, fc]) + bytes(data)
    if len(body) == 3:
        return bytes([SD1]) + body + bytes([fcs(body), ED])
    return bytes([SD2, len(body), len(body), SD2]) + body + bytes([fcs(body), ED])


def parse(buf):
    """(telegram dict or None, octets consumed, fault or None) from the head of buf."""
    if not buf:
        return None, 0, None
    sd = buf[0]
    if sd == SC:
        return {"sc": True}, 1, None
    if sd == SD4:
        if len(buf) < 3:
            return None, 0, None
        return {"token": True}, 3, None
    if sd == SD1:
        if len(buf) < 6:
            return None, 0, None
        body, tail = buf[1:4], buf[4:6]
        size = 6
    elif sd == SD3:
        if len(buf) < 14:
            return None, 0, None
        body, tail = buf[1:12], buf[12:14]
        size = 14
    elif sd == SD2:
        if len(buf) < 4:
            return None, 0, None
        le = buf[1]
        if buf[2] != le or buf[3] != SD2 or not 3 <= le <= 249:
            return None, 1, "length"
        if len(buf) < le + 6:
            return None, 0, None
        body, tail = buf[4:4 + le], buf[4 + le:6 + le]
        size = le + 6
    else:
        return None, 1, "garbage"
    if fcs(body) != tail[0] or tail[1] != ED:
        return None, 1, "fcs"
    da, sa, fc = body[0], body[1], body[2]
    data = body[3:]
    dsap = ssap = None
    if da & 0x80:
        dsap, data = data[0] & 0x3F, data[1:]
    if sa & 0x80:
        ssap, data = data[0] & 0x3F, data[1:]
    return {"da": da & 0x7F, "sa": sa & 0x7F, "fc": fc, "dsap": dsap, "ssap": ssap,
            "data": bytes(data)}, size, None


class Simulator:
    def __init__(self, port, slaves, control_port):
        self.fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[6][termios.VMIN] = 0
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.slaves = {s.addr: s for s in slaves}
        self.buf = bytearray()
        self.garbage = 0
        self.faults = {"garbage": 0, "length": 0, "fcs": 0}
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", control_port))
        self.server.listen(4)
        self.clients = {}

    def send(self, slave, octets):
        if self.garbage:
            os.write(self.fd, bytes([0x00, 0xFF, 0x33] * self.garbage)[:self.garbage])
            self.garbage = 0
        if slave.corrupt:
            slave.corrupt -= 1
            octets = octets[:-2] + bytes([(octets[-2] + 1) & 0xFF, ED])
        elif slave.truncate:
            slave.truncate -= 1
            octets = octets[:max(1, len(octets) // 2)]
            if octets == bytes([SC]):
                octets = bytes([SD1])
        os.write(self.fd, octets)

    def handle(self, t):
        if t.get("sc") or t.get("token"):
            return
        fc = t["fc"]
        if not fc & 0x40:
            return                                   # an answer from someone else
        function = fc & 0x0F
        now = time.monotonic()
        if t["da"] == 127:
            if t["dsap"] == SAP_GLOBAL_CONTROL and len(t["data"]) >= 2:
                for slave in self.slaves.values():
                    if slave.muted or slave.state != Slave.DATA_EXCH:
                        continue
                    command, group = t["data"][0], t["data"][1]
                    if group and not group & slave.group:
                        continue
                    slave.last_seen = now
                    if command & 0x02:
                        slave.outputs = bytearray(len(slave.outputs))
                    if command & 0x08:
                        slave.frozen = bytes(slave.inputs)
                    if command & 0x04:
                        slave.frozen = None
                    if command & 0x20 and slave.sync:
                        slave.syncs += 1
                        if slave.pending_outputs is not None:
                            slave.outputs[:] = slave.pending_outputs
                            slave.pending_outputs = None
                    if command & 0x10:
                        slave.sync = False
            return
        slave = self.slaves.get(t["da"])
        if slave is None or slave.muted:
            return
        slave.check_watchdog(now)
        slave.last_seen = now
        slave.requests += 1
        master = t["sa"]
        # FCB/FCV: a repeated request (FCV=1, same FCB) gets the last answer again.
        fcv, fcb = bool(fc & 0x10), bool(fc & 0x20)
        if function in (FC_SRD_LO, FC_SRD_HI, FC_SDA_LO, FC_SDA_HI):
            if fcv and slave.last_fcb == fcb and slave.last_answer is not None:
                self.send(slave, slave.last_answer)
                return
            if fcv or fcb:
                slave.last_fcb = fcb
        answer = self.answer(slave, master, function, t)
        if answer is not None:
            slave.last_answer = answer
            self.send(slave, answer)

    def answer(self, slave, master, function, t):
        addr = slave.addr
        if function == FC_FDL_STATUS:
            return build(master, addr, FC_OK)           # station type: slave
        if function not in (FC_SRD_LO, FC_SRD_HI):
            return bytes([SC]) if function in (FC_SDA_LO, FC_SDA_HI) else None
        dsap, ssap, data = t["dsap"], t["ssap"], t["data"]
        if dsap is None:
            return self.data_exchange(slave, master, data)
        if dsap == SAP_DIAG:
            return build(master, addr, FC_DL, ssap, SAP_DIAG, slave.diag())
        if dsap == SAP_GET_CFG:
            return build(master, addr, FC_DL, ssap, SAP_GET_CFG, slave.cfg)
        if dsap == SAP_SET_PRM:
            if len(data) < 7:
                return build(master, addr, FC_RS)
            if slave.state == Slave.DATA_EXCH and slave.master not in (0xFF, master):
                return bytes([SC])
            ident = data[4] << 8 | data[5]
            slave.prm = bytes(data)
            if ident != slave.ident:
                slave.prm_fault = True
                slave.state = Slave.WAIT_PRM
                return bytes([SC])
            slave.prm_fault = False
            slave.master = master
            slave.group = data[6]
            slave.watchdog_s = data[1] * data[2] * 0.01 if data[0] & 0x08 else None
            slave.sync = bool(data[0] & 0x20)
            slave.state = Slave.WAIT_CFG
            slave.outputs = bytearray(len(slave.outputs))
            return bytes([SC])
        if dsap == SAP_CHK_CFG:
            slave.checked_cfg = bytes(data)
            if slave.state == Slave.WAIT_PRM:
                return bytes([SC])
            if bytes(data) != slave.cfg:
                slave.cfg_fault = True
                slave.state = Slave.WAIT_PRM
            else:
                slave.cfg_fault = False
                slave.state = Slave.DATA_EXCH
            return bytes([SC])
        return build(master, addr, FC_RS)

    def data_exchange(self, slave, master, data):
        if slave.state != Slave.DATA_EXCH or master != slave.master:
            return build(master, slave.addr, FC_RS)
        if len(data) != len(slave.outputs):
            return build(master, slave.addr, FC_RS)
        if slave.sync:
            slave.pending_outputs = bytes(data)       # set on the next SYNC
        else:
            slave.outputs[:] = data
        slave.dx_count += 1
        if slave.counter is not None:
            value = (int.from_bytes(slave.inputs[slave.counter:slave.counter + 2], "big") + 1) & 0xFFFF
            slave.inputs[slave.counter:slave.counter + 2] = value.to_bytes(2, "big")
        inputs = slave.frozen if slave.frozen is not None else bytes(slave.inputs)
        if not inputs and not slave.diag_new:
            return bytes([SC])
        return build(master, slave.addr, FC_DH if slave.diag_new else FC_DL, data=inputs)

    def command(self, line):
        words = line.split()
        if not words:
            return {"error": "empty command"}
        name, args = words[0], words[1:]
        try:
            if name == "status":
                return {"slaves": {str(a): s.status() for a, s in self.slaves.items()}, "faults": self.faults}
            if name == "garbage":
                self.garbage = int(args[0])
                return {"ok": True}
            slave = self.slaves[int(args[0])]
            if name == "set":
                offset, octets = int(args[1]), bytes.fromhex(args[2])
                slave.inputs[offset:offset + len(octets)] = octets
            elif name == "mute":
                slave.muted = True
            elif name == "unmute":
                slave.muted = False
                slave.power_cycle()
            elif name == "restart":
                slave.power_cycle()
            elif name == "corrupt":
                slave.corrupt = int(args[1])
            elif name == "truncate":
                slave.truncate = int(args[1])
            elif name == "ident":
                slave.ident = int(args[1], 16)
                slave.power_cycle()
            elif name == "diag":
                slave.ext_diag = b"" if args[1] == "-" else bytes.fromhex(args[1])
                slave.diag_new = True
            elif name == "cfg":
                slave.cfg = bytes.fromhex(args[1])
                slave.power_cycle()
            else:
                return {"error": "unknown command %s" % name}
            return {"ok": True}
        except (IndexError, KeyError, ValueError) as error:
            return {"error": "%s: %s" % (name, error)}

    def run(self):
        parent = os.getppid()
        while True:
            sockets = [self.server] + list(self.clients)
            readable, _, _ = select.select([self.fd] + sockets, [], [], 0.2)
            if os.getppid() != parent:
                return                                  # the test runner went away
            now = time.monotonic()
            for slave in self.slaves.values():
                slave.check_watchdog(now)
            for source in readable:
                if source == self.fd:
                    try:
                        chunk = os.read(self.fd, 4096)
                    except OSError:
                        time.sleep(0.05)
                        continue
                    self.buf += chunk
                    while self.buf:
                        telegram, used, fault = parse(self.buf)
                        if used == 0:
                            break
                        del self.buf[:used]
                        if fault:
                            self.faults[fault] += 1
                        elif telegram:
                            self.handle(telegram)
                elif source == self.server:
                    client, _ = self.server.accept()
                    self.clients[client] = b""
                else:
                    data = source.recv(4096)
                    if not data:
                        source.close()
                        del self.clients[source]
                        continue
                    self.clients[source] += data
                    while b"\n" in self.clients[source]:
                        line, rest = self.clients[source].split(b"\n", 1)
                        self.clients[source] = rest
                        source.sendall((json.dumps(self.command(line.decode())) + "\n").encode())


def parse_slave(spec):
    fields = dict(item.split("=", 1) for item in spec.split(","))
    return Slave(addr=int(fields["addr"]), ident=int(fields["ident"], 16),
                 cfg=bytes.fromhex(fields["cfg"]),
                 counter=int(fields["counter"]) if "counter" in fields else None,
                 inputs=bytes.fromhex(fields.get("inputs", "")))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", required=True, help="serial device (a PTY end)")
    parser.add_argument("--control", type=int, required=True, help="TCP control port on 127.0.0.1")
    parser.add_argument("--slave", action="append", required=True, help="slave spec, repeatable")
    args = parser.parse_args()
    simulator = Simulator(args.port, [parse_slave(s) for s in args.slave], args.control)
    print("profibus_sim ready", flush=True)
    simulator.run()


if __name__ == "__main__":
    sys.exit(main())
