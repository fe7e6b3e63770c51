"""MQTT over TLS to mosquitto, with certificates made by openssl here."""

import subprocess
import time
from pathlib import Path

import pytest

from conftest import Collector, free_port, log_of, start_railgate, start_sim_tcp, wait_for, wait_for_port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a broker certificate for 127.0.0.1/localhost, a client certificate, and a stranger CA."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                "-days", "2", "-subj", f"/CN=Railgate test {ca}", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn in (("server", "localhost"), ("client", "railgate-gw")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={cn}", cwd=d)
        extra = ["-extfile", "san.ext"] if name == "server" else []
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", *extra, cwd=d)
    return d


@pytest.fixture
def tls_broker(procs, pki):
    """mosquitto with a plain listener (for the test's subscriber) and a TLS one requiring client certificates."""
    plain, tls = free_port(), free_port()
    conf = procs.tmp / "tls.conf"
    # `user root`: mosquitto started as root otherwise drops to its own user,
    # which cannot read the test's private temporary directory.
    conf.write_text(f"""allow_anonymous true
persistence false
user root
listener {plain} 127.0.0.1
listener {tls} 127.0.0.1
cafile {pki / 'ca.pem'}
certfile {pki / 'server.pem'}
keyfile {pki / 'server.key'}
require_certificate true
""")
    procs.start(["mosquitto", "-c", conf], "mosquitto-tls")
    wait_for_port(plain)
    wait_for_port(tls)
    return plain, tls


def config(tls_port, sim_port, prefix, tls, journal=None):
    journal_line = f"\n  journal: {{dir: {journal}}}" if journal else ""
    return f"""
gateway: {{id: {prefix}, isa95: {{enterprise: acme}}}}
mqtt:
  host: 127.0.0.1
  port: {tls_port}
  topic_prefix: {prefix}
  reconnect_min_s: 1
  reconnect_max_s: 2
  tls: {tls}{journal_line}
south:
  - name: tcp
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - {{name: meter, unit: 1, poll_ms: 100, tags: [{{name: speed, ref: 400006}}]}}
"""


def test_tls_with_client_certificate(procs, pki, tls_broker):
    plain, tls = tls_broker
    sim_port = start_sim_tcp(procs)
    prefix = "tls-ok"
    sub = Collector(plain, f"{prefix}/#")
    try:
        proc = start_railgate(procs, config(tls, sim_port, prefix,
            f"{{ca_file: {pki / 'ca.pem'}, cert_file: {pki / 'client.pem'}, key_file: {pki / 'client.key'}}}"))
        assert sub.wait(f"{prefix}/acme/meter/speed", lambda p: p["value"] == 1450, 20), log_of(proc)
    finally:
        sub.close()


def test_untrusted_broker_is_refused_and_polling_goes_on(procs, pki, tls_broker):
    plain, tls = tls_broker
    sim_port = start_sim_tcp(procs)
    prefix = "tls-untrusted"
    sub = Collector(plain, f"{prefix}/#")
    try:
        proc = start_railgate(procs, config(tls, sim_port, prefix,
            f"{{ca_file: {pki / 'other-ca.pem'}, cert_file: {pki / 'client.pem'}, key_file: {pki / 'client.key'}}}"))
        assert wait_for(lambda: "certificate verify failed" in log_of(proc), 15), log_of(proc)
        assert wait_for(lambda: "device answering" in log_of(proc), 15), log_of(proc)
        time.sleep(1)
        assert sub.all(f"{prefix}/acme/meter/speed") == []
        assert proc.poll() is None
    finally:
        sub.close()


def test_missing_tls_file_is_a_clear_error_and_the_journal_fills(procs, tmp_path, tls_broker):
    plain, tls = tls_broker
    sim_port = start_sim_tcp(procs)
    journal = tmp_path / "journal"
    proc = start_railgate(procs, config(tls, sim_port, "tls-missing", "{ca_file: /nonexistent/ca.pem}", journal))
    assert wait_for(lambda: "TLS file /nonexistent/ca.pem is not readable" in log_of(proc), 10), log_of(proc)
    assert wait_for(lambda: any(p.stat().st_size > 8 for p in Path(journal).glob("segment-*.rgj")), 10)
    assert proc.poll() is None and "device answering" in log_of(proc)
