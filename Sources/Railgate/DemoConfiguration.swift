/// The configuration `railgate demo` prints: the same as examples/demo.yaml
/// (a test keeps the two equal).
enum DemoConfiguration {
    static let yaml = """
# Railgate demo: a simulated energy meter on Modbus TCP (scripts/sim/modbus_sim.py) and
# two simulated PROFIBUS-DP slaves (scripts/sim/profibus_sim.py), published to a local MQTT broker and served over OPC UA. `scripts/demo` runs exactly this file.
schema: 3                 # configuration schema this file is written in
gateway:
  id: demo-gw
  isa95:                  # builds tag paths and MQTT topics
    enterprise: acme
    site: plant1
    area: packaging
    line: line3
  writes: false           # global write policy: north writes refused unless true

mqtt:
  host: 127.0.0.1
  port: 18830
  qos: 1
  retain: true
  topic_prefix: railgate  # topics: railgate/acme/plant1/packaging/line3/<device>/<tag>

opcua:
  host: 127.0.0.1         # 0.0.0.0 to serve the plant network
  port: 4840
  writes: false           # OPC UA writes (gateway.writes must allow them too)

south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: 15020
    response_timeout_ms: 1000
    devices:
      - name: meter1
        unit: 1
        poll_ms: 1000
        max_gap: 8
        tags:
          - {name: voltage, ref: 400001, type: float32, unit: V, deadband: 0.5, range: [0, 400]}
          - {name: current, ref: 400003, type: float32, order: CDAB, unit: A}
          - {name: temperature, table: holding-register, address: 4, type: int16, scale: 0.1, unit: °C}
          - {name: speed, ref: 400006, type: uint16, unit: rpm, deadband_percent: 1, range: [0, 3000]}
          - {name: counter, ref: 400007, type: uint32}
          - {name: energy, ref: 400009, type: int64, unit: W·h}
          - {name: running, ref: 400017, type: bool, bit: 0}
          - {name: serial, ref: 400021, type: string, length: 8}
          - {name: frequency, ref: 300002, type: float32, unit: Hz}
          - {name: alarm_reset, ref: "00001", type: bool}

  # A PROFIBUS-DP line (scripts/sim/profibus_sim.py on a socat PTY pair in the demo;
  # on a gateway: the RS-485 port, e.g. /dev/ttyRS485-1). GSD paths are relative to this file.
  - name: dp1
    protocol: profibus-dp
    serial: {device: /tmp/railgate-demo-dp, baud: 187500}
    master_address: 2
    cycle_ms: 100         # shortest time between DP cycles
    slaves:
      - name: io5
        address: 5
        gsd: ../hardware/gsd/RG_IO.gsd
        modules: ["8 DI", "2 AI word", "8 DO", "2 AO word"]
        watchdog_ms: 500
        tags:
          - {name: inputs, area: input, byte: 0, type: uint8}
          - {name: door_closed, area: input, byte: 0, bit: 3}
          - {name: pieces, area: input, byte: 1, type: uint16}
          - {name: oil_temp, area: input, byte: 3, type: int16, scale: 0.1, unit: °C}
          - {name: lamp, area: output, byte: 0, bit: 2, writable: true}
      - name: drive7
        address: 7
        gsd: ../hardware/gsd/RG_DRIVE.gsd
        tags:
          - {name: status, area: input, byte: 0, type: uint16}
          - {name: speed, area: input, byte: 2, type: int16, unit: rpm}
          - {name: setpoint, area: output, byte: 2, type: int16, unit: rpm, writable: true}

"""
}
