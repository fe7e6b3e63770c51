"""Connection loss and recovery: one bus failing never stalls the others."""

import time

from conftest import (free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp, tcp_bus_yaml, wait_for,
                      wait_for_port)


def test_refused_bus_is_disconnected_then_recovers_when_the_device_appears(procs, broker, sim_tcp, collector_factory):
    later = free_port()
    prefix = "fail-refused"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, gateway_yaml(prefix, broker,
        tcp_bus_yaml("late", later, "late_meter", "reconnect_min_ms: 100\nreconnect_max_ms: 400")
        + tcp_bus_yaml("alive", sim_tcp, "meter")))

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
    proc = start_railgate(procs, gateway_yaml(prefix, broker, tcp_bus_yaml(
        "tcp", port, "meter", "timeout_ms: 300\nreconnect_min_ms: 100\nreconnect_max_ms: 400")))

    topic = f"{prefix}/acme/meter/speed"
    assert mqtt.wait(topic, lambda p: p["quality"] == "good"), log_of(proc)
    sim.kill()
    sim.wait()
    assert mqtt.wait(topic, lambda p: p["quality"] == "bad"), log_of(proc)
    count = len(mqtt.all(topic))
    start_sim_tcp(procs, port=port)
    assert mqtt.wait(topic, lambda p: p["quality"] == "good" and len(mqtt.all(topic)) > count, 20)
    assert proc.poll() is None


def test_silent_tcp_peer_times_out_and_the_connection_is_reopened(procs, broker, collector_factory):
    """A peer that accepts but never answers (a half-open connection, a device
    that hung): its tags go bad with `timeout`, and after 3 timeouts in a row
    the TCP connection is reopened."""
    port = free_port()
    silent = procs.start(["socat", "-d", "-d", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                          "SYSTEM:sleep 60"], "silent-peer")
    wait_for_port(port)
    prefix = "fail-silent"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, gateway_yaml(prefix, broker, tcp_bus_yaml("hung", port, "hung_meter", "timeout_ms: 100")))

    bad = mqtt.wait(f"{prefix}/acme/hung_meter/speed", lambda p: p["quality"] == "bad")
    assert bad is not None and bad["reason"] == "timeout", log_of(proc)
    # The wait_for_port probe was connection 1; Railgate's first is 2; a reopen makes 3+.
    accepted = lambda: open(silent.log_path).read().count("accepting connection")
    assert wait_for(lambda: accepted() >= 3, 10), open(silent.log_path).read()
    assert all(p["reason"] == "timeout" for p in mqtt.all(f"{prefix}/acme/hung_meter/speed"))


def test_a_peer_that_accepts_and_closes_is_retried_with_backoff(procs, broker, sim_tcp, collector_factory):
    """A peer that accepts every connection and closes it at once (a gateway whose serial side is
    dead, a port forwarded to nothing): reconnects back off like refused ones, and the log says
    so a few times, not a thousand times a second. The other bus keeps polling."""
    port = free_port()
    closer = procs.start(["socat", "-d", "-d", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "SYSTEM:true"],
                         "closing-peer")
    wait_for_port(port)
    prefix = "fail-closer"
    mqtt = collector_factory(f"{prefix}/#")
    proc = start_railgate(procs, gateway_yaml(prefix, broker,
        tcp_bus_yaml("closer", port, "closed_meter", "reconnect_min_ms: 100\nreconnect_max_ms: 800")
        + tcp_bus_yaml("alive", sim_tcp, "meter")))
    assert mqtt.wait(f"{prefix}/acme/closed_meter/speed", lambda p: p["quality"] == "bad"), log_of(proc)
    accepted = lambda: open(closer.log_path).read().count("accepting connection")
    first = accepted()
    time.sleep(4)
    # 100, 200, 400, 800, 800 … ms apart: about eight in four seconds (without backoff: thousands).
    assert accepted() - first <= 12, accepted() - first
    assert len(log_of(proc).splitlines()) < 60, log_of(proc)[-3000:]
    assert mqtt.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450)
    assert proc.poll() is None
