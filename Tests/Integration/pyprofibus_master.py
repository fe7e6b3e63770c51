"""pyprofibus as an independent DP master: parameterises the slaves of a
pyprofibus .conf file, runs Data_Exchange for a while with fixed output
data, and prints what it saw as JSON. Used to prove that Railgate's slave
simulator speaks PROFIBUS as a third-party master understands it.

    python3 pyprofibus_master.py CONF SECONDS OUTPUT_HEX
"""
import json
import sys
import time

import serial

# Pseudo-terminals refuse PARENB (see TOOLCHAIN notes); the PHY asks for
# even parity, so the test line runs 8N1. Framing is unaffected.
serial.PARITY_EVEN = serial.PARITY_NONE

import pyprofibus  # noqa: E402


def main():
    conf_path, seconds, output_hex = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    conf = pyprofibus.PbConf.fromFile(conf_path)
    master = conf.makeDPM()
    slaves = []
    for slave_conf in conf.slaveConfs:
        desc = slave_conf.makeDpSlaveDesc()
        master.addSlave(desc)
        slaves.append(desc)
    master.initialize()
    received = {desc.slaveAddr: [] for desc in slaves}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for desc in slaves:
            desc.setMasterOutData(bytearray.fromhex(output_hex)[:desc.inputSize])
        handled = master.run()
        if handled is not None:
            data = handled.getMasterInData()
            if data is not None and len(received[handled.slaveAddr]) < 1000:
                received[handled.slaveAddr].append(bytes(data).hex())
        time.sleep(0.0005)
    print(json.dumps({str(desc.slaveAddr): {"connected": desc.isConnected(),
                                             "inputs": received[desc.slaveAddr][-5:],
                                             "count": len(received[desc.slaveAddr])} for desc in slaves}))
    master.destroy()


if __name__ == "__main__":
    main()
