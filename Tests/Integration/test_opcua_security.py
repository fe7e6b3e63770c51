"""OPC UA security against asyncua: every policy and mode with a client
certificate made by openssl, users with hashed passwords and roles, the PKI
folders (rejected, trusted from the console), and what must fail cleanly:
wrong password, read-only user writing, untrusted and expired certificates,
a tampered chunk signature, Security None turned off."""

import asyncio
import datetime
import hashlib
import base64
import subprocess

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import (SecurityPolicyAes128Sha256RsaOaep, SecurityPolicyAes256Sha256RsaPss,
                                              SecurityPolicyBasic256Sha256)
from pymodbus.client import ModbusTcpClient

from conftest import RAILGATE, free_port, log_of, read_audit, start_railgate, start_sim_tcp, wait_for, wait_for_port

BASE = "acme/meter1"
CLIENT_URI = "urn:railgate:test:client"
POLICIES = {"Basic256Sha256": SecurityPolicyBasic256Sha256,
            "Aes128_Sha256_RsaOaep": SecurityPolicyAes128Sha256RsaOaep,
            "Aes256_Sha256_RsaPss": SecurityPolicyAes256Sha256RsaPss}
MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}


def make_certificate(directory, name, days=30):
    """A client certificate and key made by openssl (RSA 2048, SAN URI)."""
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", str(days), "-subj", f"/CN={name}", "-addext", f"subjectAltName=URI:{CLIENT_URI}",
                    "-addext", "keyUsage=digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment",
                    "-addext", "extendedKeyUsage=clientAuth"], check=True, capture_output=True)
    return cert, key


def make_expired_certificate(directory):
    """A certificate whose validity ended yesterday. openssl 3.0 `req` cannot
    back-date, so the cryptography package (asyncua's own) signs this one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired client")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(CLIENT_URI)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "expired-cert.pem", directory / "expired-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def password_hash(password):
    result = subprocess.run([RAILGATE, "hash-password"], input=password + "\n", capture_output=True, text=True,
                            check=True)
    return result.stdout.strip()


def security_config(ua_port, sim_port, pki, audit, sock, policies=None, extra=""):
    listed = f"\n    policies: [{', '.join(policies)}]" if policies else ""
    return f"""
schema: 3
gateway:
  id: ua-sec
  isa95: {{enterprise: acme}}
  writes: true
  audit_file: {audit}
console: {{socket: {sock}, history_dir: {sock.parent / "history"}}}
opcua:
  host: 127.0.0.1
  port: {ua_port}
  writes: true
  anonymous: false
  users:
    - {{name: operator1, password_hash: "{password_hash('op-secret-1')}", role: operator}}
    - {{name: viewer1, password_hash: "{password_hash('view-secret-1')}"}}
  security:
    pki_dir: {pki}{listed}
{extra}
south:
  - name: tcp1
    protocol: modbus-tcp
    host: 127.0.0.1
    port: {sim_port}
    devices:
      - name: meter1
        unit: 1
        poll_ms: 100
        tags:
          - {{name: speed, ref: 400006}}
          - {{name: setpoint, ref: 400041, writable: true}}
"""


@pytest.fixture
def secured(procs, request):
    """Railgate with secured OPC UA; the openssl client certificate trusted."""
    marker = request.node.get_closest_marker("gateway")
    options = marker.kwargs if marker else {}
    sim_port, ua_port = start_sim_tcp(procs), free_port()
    pki, audit, sock = procs.tmp / "pki", procs.tmp / "audit.log", procs.tmp / "control.sock"
    cert, key = make_certificate(procs.tmp, "client")
    if options.pop("trusted", True):
        (pki / "trusted" / "certs").mkdir(parents=True)
        subprocess.run(["openssl", "x509", "-in", cert, "-outform", "der", "-out",
                        pki / "trusted" / "certs" / "client.der"], check=True)
    proc = start_railgate(procs, security_config(ua_port, sim_port, pki, audit, sock, **options))
    wait_for_port(ua_port)
    proc.url, proc.pki, proc.audit, proc.sock, proc.sim_port = f"opc.tcp://127.0.0.1:{ua_port}", pki, audit, sock, sim_port
    proc.cert, proc.key, proc.tmp = cert, key, procs.tmp
    return proc


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 90))


async def secure_client(gateway, policy="Basic256Sha256", mode="SignAndEncrypt", user="operator1",
                        password="op-secret-1", cert=None, key=None):
    client = Client(gateway.url, timeout=10)
    client.application_uri = CLIENT_URI
    if user:
        client.set_user(user)
        client.set_password(password)
    await client.set_security(POLICIES[policy], str(cert or gateway.cert), str(key or gateway.key), mode=MODES[mode])
    return client


def audit_events(gateway, predicate=None):
    """The audit trail's entries; with `predicate`, once one satisfies it (the OPC UA server's
    entries are written by the trail's writer thread, a moment after the request)."""
    if predicate is not None:
        wait_for(lambda: any(predicate(e) for e in read_audit(gateway.audit)), 10)
    return read_audit(gateway.audit)


async def wait_good(node, timeout=15):
    for _ in range(int(timeout / 0.1)):
        value = await node.read_data_value(raise_on_bad_status=False)
        if value.StatusCode.is_good():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{node} never became good")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_and_mode_browses_reads_subscribes_and_writes(secured, policy, mode):
    class Changes:
        def __init__(self):
            self.values = []

        def datachange_notification(self, node, value, data):
            self.values.append(value)

    async def scenario():
        client = await secure_client(secured, policy, mode)
        async with client:
            names = [(await child.read_browse_name()).Name for child in await client.nodes.objects.get_children()]
            assert "acme" in names
            speed = client.get_node(f"ns=1;s={BASE}/speed")
            assert (await wait_good(speed)).Value.Value == 1450  # the simulator's image
            changes = Changes()
            subscription = await client.create_subscription(100, changes)
            await subscription.subscribe_data_change(speed)
            for _ in range(50):
                if changes.values:
                    break
                await asyncio.sleep(0.1)
            assert changes.values and changes.values[0] == 1450
            setpoint = client.get_node(f"ns=1;s={BASE}/setpoint")
            await setpoint.write_value(ua.DataValue(ua.Variant(321, ua.VariantType.UInt16)))
        modbus = ModbusTcpClient("127.0.0.1", port=secured.sim_port)
        assert modbus.connect()
        assert wait_for(lambda: modbus.read_holding_registers(40, count=1, device_id=1).registers[0] == 321, 10)
        modbus.close()

    run(scenario())
    # The endpoints list every policy with both modes, and None.
    endpoints = run(Client(secured.url).connect_and_get_server_endpoints())
    offered = {(e.SecurityPolicyUri.split("#")[1], e.SecurityMode.name) for e in endpoints}
    assert offered == {("None", "None_")} | {(p, m) for p in POLICIES for m in MODES}
    assert all(e.ServerCertificate for e in endpoints)
    # The write is in the audit trail with the OPC UA user.
    assert any(e["event"] == "write" and "operator1" in e["user"] for e in audit_events(secured))


def test_the_token_is_renewed_with_new_keys(secured):
    """asyncua renews at 75 % of the lifetime; the shortest Railgate grants
    is 10 s, so reads keep working across a renewal at about 7.5 s."""
    async def scenario():
        client = await secure_client(secured, "Aes256_Sha256_RsaPss", "SignAndEncrypt")
        client.secure_channel_timeout = 10_000
        async with client:
            speed = client.get_node(f"ns=1;s={BASE}/speed")
            await wait_good(speed)
            first = client.uaclient.protocol._connection.security_token.TokenId
            deadline = asyncio.get_running_loop().time() + 12
            while asyncio.get_running_loop().time() < deadline:
                assert await speed.read_value() == 1450
                if client.uaclient.protocol._connection.security_token.TokenId != first:
                    break
                await asyncio.sleep(0.2)
            renewed = client.uaclient.protocol._connection.security_token.TokenId
            assert renewed != first
            for _ in range(5):  # messages under the new token's keys
                assert await speed.read_value() == 1450

    run(scenario())


@pytest.mark.gateway(trusted=False)
def test_an_untrusted_certificate_is_refused_kept_and_trusted_from_the_console(secured):
    async def connect():
        async with await secure_client(secured):
            return True

    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(connect())
    assert refused.value.code == ua.StatusCodes.BadSecurityChecksFailed
    rejected = list((secured.pki / "rejected" / "certs").glob("*.der"))
    assert len(rejected) == 1, log_of(secured)
    thumbprint = rejected[0].stem
    assert "OPC UA client certificate rejected" in log_of(secured) and "not trusted" in log_of(secured)
    console = subprocess.run([RAILGATE, "console", "--socket", secured.sock], input="opcua certificates\n",
                             capture_output=True, text=True, timeout=30)
    assert thumbprint in console.stdout and "CN=client" in console.stdout
    console = subprocess.run([RAILGATE, "console", "--socket", secured.sock],
                             input=f"opcua trust {thumbprint[:12]}\n", capture_output=True, text=True, timeout=30)
    assert f"trusted {thumbprint}.der" in console.stdout, console.stdout + console.stderr
    assert (secured.pki / "trusted" / "certs" / f"{thumbprint}.der").exists()
    assert run(connect())
    events = [e["event"] for e in audit_events(secured, lambda e: e["event"] == "opcua certificate trusted")]
    assert "opcua certificate rejected" in events and "opcua certificate trusted" in events


def test_wrong_password_and_a_read_only_user_writing_are_refused(secured):
    async def wrong_password():
        async with await secure_client(secured, password="not-the-password"):
            pass

    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(wrong_password())
    assert refused.value.code == ua.StatusCodes.BadUserAccessDenied

    async def viewer_writes():
        async with await secure_client(secured, user="viewer1", password="view-secret-1") as client:
            speed = client.get_node(f"ns=1;s={BASE}/speed")
            await wait_good(speed)  # reading is allowed
            setpoint = client.get_node(f"ns=1;s={BASE}/setpoint")
            await setpoint.write_value(ua.DataValue(ua.Variant(5, ua.VariantType.UInt16)))

    with pytest.raises(ua.UaStatusCodeError) as denied:
        run(viewer_writes())
    assert denied.value.code == ua.StatusCodes.BadUserAccessDenied
    events = audit_events(secured, lambda e: e["event"] == "opcua write refused")
    assert any(e["event"] == "opcua activation refused" and e["user"] == "opcua:operator1" for e in events)
    assert any(e["event"] == "opcua write refused" and "viewer1" in e["user"] for e in events)


def test_an_expired_certificate_is_refused_even_when_trusted(secured):
    cert, key = make_expired_certificate(secured.tmp)
    subprocess.run(["openssl", "x509", "-in", cert, "-outform", "der", "-out",
                    secured.pki / "trusted" / "certs" / "expired.der"], check=True)

    async def connect():
        async with await secure_client(secured, cert=cert, key=key):
            pass

    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(connect())
    assert refused.value.code == ua.StatusCodes.BadSecurityChecksFailed
    assert wait_for(lambda: "the certificate is valid from" in log_of(secured), 5), log_of(secured)


def test_a_tampered_chunk_signature_closes_the_channel(secured):
    async def scenario():
        client = await secure_client(secured, mode="Sign")
        await client.connect()
        speed = client.get_node(f"ns=1;s={BASE}/speed")
        await wait_good(speed)
        transport = client.uaclient.protocol.transport
        original = transport.write

        def tamper(data):
            data = bytearray(data)
            if data[:3] == b"MSG":
                data[-1] ^= 0x01  # the last byte of the HMAC
            original(bytes(data))

        transport.write = tamper
        with pytest.raises(Exception):
            await speed.read_value()
        try:
            await client.disconnect()
        except Exception:
            pass

    run(scenario())
    assert wait_for(lambda: "the chunk's signature is wrong" in log_of(secured), 10), log_of(secured)


def test_a_password_over_a_none_channel_travels_encrypted(secured):
    """With a certificate, the None endpoint's user token policy names a
    secure policy: asyncua encrypts the password for the server's key."""
    async def scenario():
        client = Client(secured.url, timeout=10)
        client.set_user("viewer1")
        client.set_password("view-secret-1")
        async with client:
            policy = next(e for e in await client.get_endpoints() if e.SecurityMode == ua.MessageSecurityMode.None_)
            token = next(t for t in policy.UserIdentityTokens if t.TokenType == ua.UserTokenType.UserName)
            assert token.SecurityPolicyUri.endswith("#Aes256_Sha256_RsaPss")
            return (await wait_good(client.get_node(f"ns=1;s={BASE}/speed"))).Value.Value

    assert run(scenario()) == 1450


def test_a_session_does_not_move_to_a_less_secure_channel(secured):
    """The authentication token of a session made over SignAndEncrypt is of
    no use on a None channel."""
    async def scenario():
        owner = await secure_client(secured)
        await owner.connect()
        try:
            thief = Client(secured.url, timeout=10)
            await thief.connect_socket()
            try:
                await thief.send_hello()
                await thief.open_secure_channel()
                protocol = thief.uaclient.protocol
                protocol.authentication_token = owner.uaclient.protocol.authentication_token
                params = ua.ActivateSessionParameters()
                params.UserIdentityToken = ua.AnonymousIdentityToken(PolicyId="anonymous")
                await thief.uaclient.activate_session(params)
            finally:
                thief.disconnect_socket()
        finally:
            await owner.disconnect()

    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(scenario())
    assert refused.value.code == ua.StatusCodes.BadSecurityChecksFailed
    def moved(e):
        return e["event"] == "opcua activation refused" and "channel security" in e.get("details", {}).get("reason", "")
    assert any(moved(e) for e in audit_events(secured, moved)), audit_events(secured)


@pytest.mark.gateway(policies=["Basic256Sha256", "Aes256_Sha256_RsaPss"])
def test_security_none_turned_off_lists_only_secure_endpoints(secured):
    endpoints = run(Client(secured.url).connect_and_get_server_endpoints())
    assert {e.SecurityPolicyUri.split("#")[1] for e in endpoints} == {"Basic256Sha256", "Aes256_Sha256_RsaPss"}
    assert all(e.SecurityMode != ua.MessageSecurityMode.None_ for e in endpoints)

    async def plain():
        client = Client(secured.url, timeout=10)
        async with client:
            pass

    # asyncua's plain client is refused…
    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(plain())
    assert refused.value.code == ua.StatusCodes.BadSecurityPolicyRejected

    # …and a client that tries anyway gets discovery only on a None channel.
    async def session_on_none():
        client = Client(secured.url, timeout=10)
        await client.connect_socket()
        try:
            await client.send_hello()
            await client.open_secure_channel()
            params = ua.CreateSessionParameters()
            params.ClientDescription = ua.ApplicationDescription(ApplicationUri=CLIENT_URI)
            params.EndpointUrl, params.SessionName, params.RequestedSessionTimeout = secured.url, "none", 60000
            params.ClientNonce = bytes(32)
            await client.uaclient.create_session(params)
        finally:
            client.disconnect_socket()

    with pytest.raises(ua.UaStatusCodeError) as refused:
        run(session_on_none())
    assert refused.value.code == ua.StatusCodes.BadSecurityPolicyRejected


def test_password_hashes_match_an_independent_scrypt():
    """`railgate hash-password` makes standard scrypt: Python's hashlib agrees."""
    text = password_hash("correct horse battery")
    _, name, params, salt, digest = text.split("$")
    values = dict(item.split("=") for item in params.split(","))
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert name == "scrypt"
    assert hashlib.scrypt(b"correct horse battery", salt=base64.b64decode(pad(salt)), n=2 ** int(values["ln"]),
                          r=int(values["r"]), p=int(values["p"]), dklen=32) == base64.b64decode(pad(digest))
