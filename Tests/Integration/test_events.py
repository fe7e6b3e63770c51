"""OPC UA events end to end, asyncua's subscribe_events as the client: an audit event for every
write whoever asks for it (OPC UA, console) with old and new value, user and outcome; session
activations, refused ones too; a configuration commit told to the clients of the server it
replaces; where clauses and select clauses of EventFilters; filters the server refuses. The
device is the pymodbus simulator."""

import asyncio

from asyncua import Client, ua
from asyncua.common.events import Event
from asyncua.ua.uaerrors import BadMonitoredItemFilterInvalid, BadMonitoredItemFilterUnsupported, BadUserAccessDenied

from conftest import (EventHandler, console_lines, events_until, free_port, gateway_yaml, log_of, start_railgate,
                      start_sim_tcp, tcp_bus_yaml, wait_for, wait_for_port)

BASE = "acme/meter1"
TAGS = ("{name: setpoint, ref: 400011, writable: true}", "{name: speed, ref: 400006}")



def setup(procs, broker, prefix, role="operator"):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    socket = procs.tmp / "control.sock"
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}", "isa95: {enterprise: acme}, writes: true}")
    text += f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, anonymous_role: {role}}}\n"
    text += f"console: {{socket: {socket}, history_dir: {procs.tmp}/configs}}\n"
    proc = start_railgate(procs, text)
    wait_for_port(ua_port)
    proc.socket = socket
    return proc, ua_port


def console(proc, *lines):
    return console_lines(proc.socket, *lines)



def test_writes_sessions_and_commits_are_events(procs, broker):
    proc, ua_port = setup(procs, broker, "rgtest-events")
    url = f"opc.tcp://127.0.0.1:{ua_port}"

    async def scenario():
        async with Client(url=url) as client:
            setpoint = client.get_node(f"ns=1;s={BASE}/setpoint")
            assert wait_for(lambda: True)
            await asyncio.sleep(0.5)
            before = await setpoint.read_value()
            audit_type = client.get_node(ua.ObjectIds.AuditWriteUpdateEventType)
            server_handler, device_handler = EventHandler(), EventHandler()
            server_sub = await client.create_subscription(50, server_handler)
            await server_sub.subscribe_events()  # the Server object, BaseEventType: every event
            device_sub = await client.create_subscription(50, device_handler)
            await device_sub.subscribe_events(client.get_node(f"ns=1;s={BASE}"), audit_type)

            # An OPC UA write: old and new value, who, outcome; seen on the Server and the device.
            await setpoint.write_value(ua.DataValue(ua.Variant(before + 7, ua.VariantType.UInt16)))
            writes = await events_until(device_handler, lambda e: e.NewValue == before + 7)
            assert writes, device_handler.events
            write = writes[0]
            assert write.EventType == ua.NodeId(ua.ObjectIds.AuditWriteUpdateEventType)
            assert write.OldValue == before and write.Status is True, write
            assert write.ClientUserId.startswith("opcua:anonymous@"), write.ClientUserId
            assert write.SourceNode == ua.NodeId.from_string(f"ns=1;s={BASE}/setpoint")
            assert write.SourceName == f"{BASE}/setpoint" and write.AttributeId == ua.AttributeIds.Value
            assert len(write.EventId) == 16 and write.Severity == 100
            # The Server object's item selects BaseEventType's fields: the same event, fewer fields.
            assert await events_until(server_handler, lambda e: e.EventType == ua.NodeId(
                ua.ObjectIds.AuditWriteUpdateEventType) and e.SourceName == f"{BASE}/setpoint")

            # A console write is an event too, with the console's user; a refused one says so.
            out = console(proc, f"write tag meter1/setpoint {before + 9}", "write tag meter1/speed 5")
            assert "done" in out, out
            from_console = await events_until(device_handler, lambda e: e.NewValue == before + 9)
            assert from_console and from_console[0].ClientUserId.startswith("console:"), from_console
            assert from_console[0].OldValue == before + 7
            refused = await events_until(device_handler, lambda e: e.SourceName == f"{BASE}/speed")
            assert refused and refused[0].Status is False and refused[0].Severity == 500, refused
            assert "not writable" in refused[0].Message.Text

            # A session activation, then a refused one (an unknown user).
            session_handler = EventHandler()
            session_sub = await client.create_subscription(50, session_handler)
            await session_sub.subscribe_events(client.nodes.server,
                                               client.get_node(ua.ObjectIds.AuditActivateSessionEventType))
            async with Client(url=url):
                pass
            activations = await events_until(session_handler, lambda e: e.Status is True)
            assert activations and activations[0].Status is True and activations[0].ClientUserId == "opcua:anonymous"
            intruder = Client(url=url)
            intruder.set_user("nobody")
            intruder.set_password("guess")
            try:
                await intruder.connect()
                raise AssertionError("an unknown user was let in")
            except BadUserAccessDenied:
                pass
            except Exception:  # asyncua may wrap the refusal
                pass
            finally:
                try:
                    await intruder.disconnect()
                except Exception:
                    pass
            refusals = await events_until(session_handler, lambda e: e.Status is False)
            assert refusals and refusals[0].ClientUserId == "opcua:nobody" and refusals[0].Severity == 600, refusals

            # A commit: the clients of the server it replaces hear of it first.
            ns = await client.get_namespace_index("urn:railgate:types")
            change_type = client.get_node(ua.NodeId("ConfigurationChangeEventType", ns))
            assert (await change_type.read_browse_name()).Name == "ConfigurationChangeEventType"
            change_handler = EventHandler()
            change_sub = await client.create_subscription(50, change_handler)
            await change_sub.subscribe_events(client.nodes.server, change_type)
            # In a thread: the client's Publish requests must go on while the console waits.
            out = await asyncio.to_thread(console, proc, "configure", "set mqtt.qos 0",
                                          "commit lower QoS for the line test", "exit")
            assert "commit complete" in out, out
            changes = await events_until(change_handler, lambda e: True)
            assert changes, (change_handler.events, log_of(proc))
            change = changes[0]
            assert change.Action == "commit" and change.Comment == "lower QoS for the line test", change
            assert change.ClientUserId and len(change.ConfigurationDigest) == 64, change
            assert change.ConfigurationFile == str(proc.config_path)

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_event_filters_select_where_and_refusals(procs, broker):
    proc, ua_port = setup(procs, broker, "rgtest-events2")
    url = f"opc.tcp://127.0.0.1:{ua_port}"

    async def scenario():
        async with Client(url=url) as client:
            setpoint = client.get_node(f"ns=1;s={BASE}/setpoint")
            await asyncio.sleep(0.5)
            server = client.nodes.server

            def field(name):
                op = ua.SimpleAttributeOperand()
                op.TypeDefinitionId = ua.NodeId(ua.ObjectIds.BaseEventType)
                op.BrowsePath = [ua.QualifiedName(name, 0)]
                op.AttributeId = ua.AttributeIds.Value
                return op

            # Only writes whose new value is at least 100: a where clause on a field.
            element = ua.ContentFilterElement()
            element.FilterOperator = ua.FilterOperator.GreaterThanOrEqual
            element.FilterOperands = [field("NewValue"), ua.LiteralOperand(Value=ua.Variant(100, ua.VariantType.UInt32))]
            event_filter = ua.EventFilter()
            event_filter.SelectClauses = [field("NewValue"), field("ClientUserId"), field("NoSuchField")]
            event_filter.WhereClause.Elements = [element]
            handler = EventHandler()
            sub = await client.create_subscription(50, handler)
            await sub._subscribe(server, ua.AttributeIds.EventNotifier, event_filter, queuesize=10)
            for value in (5, 150, 50, 200):
                await setpoint.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.UInt16)))
            await asyncio.sleep(1.0)
            values = [e.NewValue for e in handler.events]
            assert values == [150, 200], handler.events
            assert all(getattr(e, "NoSuchField", None) is None for e in handler.events)

            # Refused: an operator the server does not evaluate, an operand pointing backwards,
            # an event item on a node that is no notifier.
            like = ua.ContentFilterElement()
            like.FilterOperator = ua.FilterOperator.Like
            like.FilterOperands = [field("SourceName"), ua.LiteralOperand(Value=ua.Variant("acme%"))]
            unsupported = ua.EventFilter(SelectClauses=[field("Message")])
            unsupported.WhereClause.Elements = [like]
            try:
                await sub._subscribe(server, ua.AttributeIds.EventNotifier, unsupported)
                raise AssertionError("a Like filter was accepted")
            except BadMonitoredItemFilterUnsupported:
                pass
            loop = ua.ContentFilterElement()
            loop.FilterOperator = ua.FilterOperator.Not
            loop.FilterOperands = [ua.ElementOperand(Index=0)]
            cyclic = ua.EventFilter(SelectClauses=[field("Message")])
            cyclic.WhereClause.Elements = [loop]
            try:
                await sub._subscribe(server, ua.AttributeIds.EventNotifier, cyclic)
                raise AssertionError("an element referring to itself was accepted")
            except BadMonitoredItemFilterInvalid:
                pass
            params = ua.CreateMonitoredItemsParameters()
            params.SubscriptionId = sub.subscription_id
            request = ua.MonitoredItemCreateRequest()
            request.ItemToMonitor = ua.ReadValueId(NodeId=setpoint.nodeid, AttributeId=ua.AttributeIds.EventNotifier)
            request.MonitoringMode = ua.MonitoringMode.Reporting
            request.RequestedParameters = ua.MonitoringParameters(ClientHandle=99, QueueSize=10,
                                                                  Filter=ua.EventFilter(SelectClauses=[field("Message")]))
            params.ItemsToCreate = [request]
            results = await client.uaclient.create_monitored_items(params)
            assert results[0].StatusCode.value == ua.StatusCodes.BadAttributeIdInvalid

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_write_a_read_only_session_may_not_make_is_an_event_too(procs, broker):
    proc, ua_port = setup(procs, broker, "rgtest-events3", role="read-only")

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            handler = EventHandler()
            sub = await client.create_subscription(50, handler)
            await sub.subscribe_events(client.get_node(f"ns=1;s={BASE}"),
                                       client.get_node(ua.ObjectIds.AuditWriteUpdateEventType))
            setpoint = client.get_node(f"ns=1;s={BASE}/setpoint")
            try:
                await setpoint.write_value(ua.DataValue(ua.Variant(3, ua.VariantType.UInt16)))
                raise AssertionError("a read-only session wrote")
            except ua.UaStatusCodeError as error:
                assert error.code == ua.StatusCodes.BadUserAccessDenied
            refused = await events_until(handler, lambda e: True)
            assert refused and refused[0].Status is False and "read-only" in refused[0].Message.Text, refused
            assert refused[0].NewValue == 3 and refused[0].ClientUserId.startswith("opcua:anonymous@")

    asyncio.run(asyncio.wait_for(scenario(), 30))
