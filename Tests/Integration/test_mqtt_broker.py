"""The MQTT side against a mosquitto broker that is late or restarts."""

import time


from conftest import Collector, free_port, log_of, start_broker, start_railgate, start_sim_tcp


def config(broker_port, sim_port, prefix):
    return f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt: {{host: 127.0.0.1, port: {broker_port}, topic_prefix: {prefix}, qos: 1,
        reconnect_min_s: 1, reconnect_max_s: 2}}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: meter, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}, {{name: voltage, ref: 400001, type: float32}}]}}
"""


def test_broker_that_starts_late_and_restarts_gets_the_full_state(procs):
    sim_port = start_sim_tcp(procs)
    broker_port = free_port()
    prefix = "mqtt-late"
    # Railgate first: the broker is not there yet.
    gateway = start_railgate(procs, config(broker_port, sim_port, prefix))
    # Long enough for the first connect to fail: the network thread must retry.
    time.sleep(2)
    broker = start_broker(procs, broker_port, "broker-1")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        assert sub.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450, 20), log_of(gateway)
        assert sub.wait(f"{prefix}/status/{prefix}", lambda p: p == "online")
    finally:
        sub.close()
    # The broker restarts (without persistence: every retained value is gone).
    broker.terminate()
    broker.wait()
    start_broker(procs, broker_port, "broker-2")
    sub = Collector(broker_port, f"{prefix}/#")
    try:
        # On reconnect Railgate republishes the current state, though no value changed.
        assert sub.wait(f"{prefix}/acme/meter/voltage", lambda p: p["value"] == 230.5, 20), log_of(gateway)
        assert sub.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450)
        assert sub.wait(f"{prefix}/status/{prefix}", lambda p: p == "online")
    finally:
        sub.close()
    assert gateway.poll() is None
    assert "MQTT connection lost; reconnecting" in log_of(gateway)


def test_last_will_marks_a_vanished_gateway_offline(procs, broker):
    sim_port = start_sim_tcp(procs)
    prefix = "mqtt-will"
    gateway = start_railgate(procs, config(broker, sim_port, prefix).replace(
        "reconnect_min_s: 1", "keepalive: 5, reconnect_min_s: 1"))
    sub = Collector(broker, f"{prefix}/status/#")
    try:
        assert sub.wait(f"{prefix}/status/{prefix}", lambda p: p == "online", 20), log_of(gateway)
        gateway.kill()  # no clean disconnect: the broker publishes the will
        gateway.wait()
        assert sub.wait(f"{prefix}/status/{prefix}", lambda p: p == "offline", 20)
    finally:
        sub.close()


def test_backup_broker_takes_over(procs, broker):
    sim_port = start_sim_tcp(procs)
    dead = free_port()
    prefix = "mqtt-backup"
    yaml = config(dead, sim_port, prefix).replace(
        "reconnect_min_s: 1, reconnect_max_s: 2}",
        f"reconnect_min_s: 1, reconnect_max_s: 2, failover_s: 2, backup_brokers: [{{host: 127.0.0.1, port: {broker}}}]}}")
    assert "backup_brokers" in yaml
    sub = Collector(broker, f"{prefix}/#")
    try:
        gateway = start_railgate(procs, yaml)
        assert sub.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450, 20), log_of(gateway)
        assert "switching" in log_of(gateway)
    finally:
        sub.close()
