/// The configuration `railgate demo` prints: the same as examples/demo.yaml
/// (a test keeps the two equal).
enum DemoConfiguration {
    static let yaml = """
# Railgate demo: one simulated energy meter on Modbus TCP (scripts/sim/modbus_sim.py),
# published to a local MQTT broker and served over OPC UA. `scripts/demo` runs exactly this file.
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
    timeout_ms: 1000
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

"""
}
