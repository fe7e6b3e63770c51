"""Connection loss and recovery: one bus failing never stalls the others."""

from conftest import log_of, free_port, start_railgate, start_sim_tcp


def test_refused_bus_is_disconnected_then_recovers_when_the_device_appears(procs, broker, sim_tcp, collector_factory):
    later = free_port()
    prefix = "fail-refused"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: {prefix}}}
south:
  - name: late
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {later}
    reconnect_min_ms: 100
    reconnect_max_ms: 400
    devices:
      - {{name: late_meter, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
  - name: alive
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_tcp}
    devices:
      - {{name: meter, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
""")
    base = f"{prefix}/acme"
    down = mqtt.wait(f"{base}/late_meter/speed", lambda p: p["quality"] == "bad")
    assert down is not None and down["reason"] == "disconnected", log_of(proc)
    assert mqtt.wait(f"{base}/meter/speed", lambda p: p["value"] == 1450)
    # The device comes up: the bus reconnects on its own.
    start_sim_tcp(procs, port=later)
    assert mqtt.wait(f"{base}/late_meter/speed", lambda p: p["quality"] == "good", 20), log_of(proc)
    assert all(p["quality"] == "good" for p in mqtt.all(f"{base}/meter/speed"))


def test_simulator_dying_mid_run_goes_bad_then_good_again(procs, broker, collector_factory):
    port = start_sim_tcp(procs)
    sim = procs.started[-1]
    prefix = "fail-restart"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt: {{host: 127.0.0.1, port: {broker}, topic_prefix: {prefix}}}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {port}
    timeout_ms: 300
    reconnect_min_ms: 100
    reconnect_max_ms: 400
    devices:
      - {{name: meter, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
""")
    topic = f"{prefix}/acme/meter/speed"
    assert mqtt.wait(topic, lambda p: p["quality"] == "good"), log_of(proc)
    sim.kill()
    sim.wait()
    assert mqtt.wait(topic, lambda p: p["quality"] == "bad"), log_of(proc)
    count = len(mqtt.all(topic))
    start_sim_tcp(procs, port=port)
    assert mqtt.wait(topic, lambda p: p["quality"] == "good" and len(mqtt.all(topic)) > count, 20)
    assert proc.poll() is None
