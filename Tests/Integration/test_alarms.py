"""OPC UA Alarms & Conditions end to end, asyncua as the client: a limit alarm and an off-normal
alarm on a tag of the pymodbus simulator, moved by writes through the gateway; condition events
(subscribe_alarms_and_conditions), the condition's variables, Acknowledge and AddComment through
the Call service (wrong EventId, twice, read-only and Part 11 refusals), ConditionRefresh and
ConditionRefresh2, the audit events and the hash-chained trail, and the alarm's state tag on
MQTT (JSON)."""

import asyncio
import subprocess

from asyncua import Client, ua

from conftest import (RAILGATE, EventHandler, console_lines, events_until, free_port, gateway_yaml, log_of,
                      read_audit, start_railgate, start_sim_tcp, tcp_bus_yaml, wait_for, wait_for_port)

BASE = "acme/meter1"
TAGS = ("{name: setpoint, ref: 400011, writable: true}",)
ALARMS = """alarms:
  - name: setpoint_limits
    tag: meter1/setpoint
    limits: {high_high: 900, high: 500, low: 10}
    deadband: 5
    severity: 700
    message: Setpoint out of range
  - {name: setpoint_recipe, tag: meter1/setpoint, normal: [100, 200], severity: 300}
"""
CONDITION = f"ns=1;s={BASE}/setpoint_limits#Condition"
RECIPE = f"ns=1;s={BASE}/setpoint_recipe#Condition"


def field(event, path):
    return getattr(event, path, None)


def setup(procs, broker, prefix, extra_gateway="", role="operator", console=True):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    audit = procs.tmp / "audit.log"
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}",
                        f"isa95: {{enterprise: acme}}, writes: true, audit_file: {audit}{extra_gateway}}}")
    text += f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, anonymous_role: {role}}}\n" + ALARMS
    socket = procs.tmp / "control.sock"
    if console:
        text += f"console: {{socket: {socket}, history_dir: {procs.tmp}/configs}}\n"
    proc = start_railgate(procs, text)
    wait_for_port(ua_port)
    proc.socket = socket
    return proc, ua_port, audit


def console(proc, *lines):
    return console_lines(proc.socket, *lines)


async def subscribe_alarms(client, handler):
    """A subscription to the alarm types' events with all their fields (ConditionType alone
    selects only ConditionType's)."""
    subscription = await client.create_subscription(50, handler)
    subscription.item = await subscription.subscribe_alarms_and_conditions(
        client.nodes.server, [client.get_node(ua.ObjectIds.ExclusiveLimitAlarmType),
                              client.get_node(ua.ObjectIds.OffNormalAlarmType)])
    return subscription


async def refresh(client, subscription):
    """ConditionRefresh of a subscription; the result."""
    return await call(client, ua.NodeId(ua.ObjectIds.ConditionType), ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                      ua.Variant(subscription.subscription_id, ua.VariantType.UInt32))


async def condition_method(client, method, condition, event_id, comment):
    """Acknowledge or AddComment on a condition (NodeId text) for an EventId; the result."""
    return await call(client, ua.NodeId.from_string(condition), ua.NodeId(method),
                      ua.Variant(event_id, ua.VariantType.ByteString),
                      ua.Variant(ua.LocalizedText(comment), ua.VariantType.LocalizedText))


async def acknowledge(client, condition, event_id, comment):
    return await condition_method(client, ua.ObjectIds.AcknowledgeableConditionType_Acknowledge, condition, event_id,
                                  comment)


async def add_comment(client, condition, event_id, comment):
    return await condition_method(client, ua.ObjectIds.ConditionType_AddComment, condition, event_id, comment)


async def write(client, value):
    node = client.get_node(f"ns=1;s={BASE}/setpoint")
    await node.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.UInt16)))


async def call(client, object_id, method_id, *arguments):
    """One CallMethodRequest; returns its result (status not raised)."""
    request = ua.CallMethodRequest()
    request.ObjectId = object_id
    request.MethodId = method_id
    request.InputArguments = list(arguments)
    return (await client.uaclient.call([request]))[0]


def test_limit_alarm_acknowledge_comment_refresh(procs, broker, collector_factory):
    prefix = "rgtest-alarms"
    mqtt = collector_factory(f"{prefix}/#")
    proc, ua_port, audit = setup(procs, broker, prefix)
    state_topic = f"{prefix}/{BASE}/setpoint_limits"

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            # The simulator's register starts out of range: the alarm was raised at start and waits
            # for acknowledgment after the write brings it back (code "Normal (unacknowledged)").
            await write(client, 100)
            assert mqtt.wait(state_topic, lambda p: p["code"].startswith("Normal")), (mqtt.all(state_topic), log_of(proc))
            handler = EventHandler()
            subscription = await subscribe_alarms(client, handler)

            # High: an event of ExclusiveLimitAlarmType, active, unacknowledged, retained.
            await write(client, 600)
            high = await events_until(handler, lambda e: field(e, "ConditionName") == "setpoint_limits"
                                      and field(e, "ActiveState/Id") is True)
            assert high, (handler.events, log_of(proc))
            event = high[-1]
            assert event.EventType == ua.NodeId(ua.ObjectIds.ExclusiveLimitAlarmType)
            assert event.NodeId == ua.NodeId.from_string(CONDITION), event.NodeId
            assert event.SourceName == f"{BASE}/setpoint" and event.Severity == 700
            assert event.SourceNode == ua.NodeId.from_string(f"ns=1;s={BASE}/setpoint")
            assert field(event, "LimitState/CurrentState").Text == "High"
            assert field(event, "LimitState/CurrentState/Id") == ua.NodeId(ua.ObjectIds.ExclusiveLimitStateMachineType_High)
            assert field(event, "AckedState/Id") is False and event.Retain is True
            assert field(event, "HighLimit") == 500 and field(event, "HighHighLimit") == 900
            assert field(event, "ConditionName") == "setpoint_limits" and "Setpoint out of range" in event.Message.Text
            assert mqtt.wait(state_topic, lambda p: p["code"] == "High (unacknowledged)"), mqtt.all(state_topic)

            # The condition object: a component of the device; its variables read the state.
            condition = client.get_node(CONDITION)
            active = await condition.get_child(["0:ActiveState", "0:Id"])
            assert await active.read_value() is True
            assert (await condition.read_browse_name()).Name == "setpoint_limits.Condition"
            device = client.get_node(f"ns=1;s={BASE}")
            assert ua.NodeId.from_string(CONDITION) in [c.nodeid for c in await device.get_children()]

            # Acknowledge: a stale EventId is refused, the latest is taken once.
            stale = await acknowledge(client, CONDITION, b"0" * 16, "x")
            assert stale.StatusCode.value == ua.StatusCodes.BadEventIdUnknown, stale
            result = await acknowledge(client, CONDITION, event.EventId, "checked the recipe")
            assert result.StatusCode.is_good(), result
            acked = await events_until(handler, lambda e: field(e, "ConditionName") == "setpoint_limits"
                                       and field(e, "AckedState/Id") is True)
            assert acked and field(acked[-1], "Comment").Text == "checked the recipe"
            assert acked[-1].ClientUserId.startswith("opcua:anonymous@") and field(acked[-1], "ActiveState/Id") is True
            assert mqtt.wait(state_topic, lambda p: p["code"] == "High"), mqtt.all(state_topic)
            # The console lists the alarms not at rest, with the watched tag's value.
            shown = console(proc, "show alarms")
            assert "meter1/setpoint_limits" in shown and "High " in shown and "meter1/setpoint = 600" in shown, shown
            assert "OffNormal (unacknowledged)" in shown and "severity 300" in shown, shown
            again = await acknowledge(client, CONDITION, acked[-1].EventId, "")
            assert again.StatusCode.value == ua.StatusCodes.BadConditionBranchAlreadyAcked, again

            # AddComment on the latest event.
            comment = await add_comment(client, CONDITION, acked[-1].EventId, "maintenance informed")
            assert comment.StatusCode.is_good(), comment
            assert await events_until(handler, lambda e: field(e, "Comment") is not None
                                      and field(e, "Comment").Text == "maintenance informed")

            # Bad calls: each refused with its status, nothing applied.
            missing = await call(client, condition.nodeid, ua.NodeId(ua.ObjectIds.ConditionType_AddComment))
            assert missing.StatusCode.value == ua.StatusCodes.BadArgumentsMissing
            wrong = await call(client, condition.nodeid, ua.NodeId(ua.ObjectIds.ConditionType_AddComment),
                               ua.Variant("text", ua.VariantType.String), ua.Variant(3, ua.VariantType.UInt32))
            assert wrong.StatusCode.value == ua.StatusCodes.BadInvalidArgument
            assert [s.value for s in wrong.InputArgumentResults] == [ua.StatusCodes.BadTypeMismatch] * 2
            unknown = await add_comment(client, "ns=1;s=nowhere", b"", "")
            assert unknown.StatusCode.value == ua.StatusCodes.BadNodeIdUnknown
            bad_subscription = await call(client, ua.NodeId(ua.ObjectIds.ConditionType),
                                          ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                                          ua.Variant(987654, ua.VariantType.UInt32))
            assert bad_subscription.StatusCode.value == ua.StatusCodes.BadSubscriptionIdInvalid

            # ConditionRefresh on a new subscription: start, the retained conditions, end.
            fresh = EventHandler()
            later = await subscribe_alarms(client, fresh)
            refresh = await call(client, ua.NodeId(ua.ObjectIds.ConditionType),
                                 ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                                 ua.Variant(later.subscription_id, ua.VariantType.UInt32))
            assert refresh.StatusCode.is_good(), refresh
            # Twice in one request: the second is refused.
            twice = ua.CallMethodRequest()
            twice.ObjectId = ua.NodeId(ua.ObjectIds.ConditionType)
            twice.MethodId = ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh)
            twice.InputArguments = [ua.Variant(later.subscription_id, ua.VariantType.UInt32)]
            results = await client.uaclient.call([twice, twice])
            assert [r.StatusCode.value for r in results] == [ua.StatusCodes.Good, ua.StatusCodes.BadRefreshInProgress]
            assert await events_until(fresh, lambda e: e.EventType == ua.NodeId(ua.ObjectIds.RefreshEndEventType))
            types = [e.EventType for e in fresh.events]
            start = types.index(ua.NodeId(ua.ObjectIds.RefreshStartEventType))
            end = types.index(ua.NodeId(ua.ObjectIds.RefreshEndEventType))
            between = fresh.events[start + 1:end]
            # The limit alarm (High, acknowledged) and the off-normal one (600 is not a recipe value).
            assert sorted(field(e, "ConditionName") for e in between) == ["setpoint_limits", "setpoint_recipe"], between
            assert all(e.Retain for e in between)
            # ConditionRefresh2: the same for one monitored item of the subscription.
            fresh.events.clear()
            one = await call(client, ua.NodeId(ua.ObjectIds.ConditionType),
                             ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh2),
                             ua.Variant(later.subscription_id, ua.VariantType.UInt32),
                             ua.Variant(later.item, ua.VariantType.UInt32))
            assert one.StatusCode.is_good(), one
            assert await events_until(fresh, lambda e: e.EventType == ua.NodeId(ua.ObjectIds.RefreshEndEventType))
            assert sorted(field(e, "ConditionName") for e in fresh.events if field(e, "ConditionName")) == [
                "setpoint_limits", "setpoint_recipe"]
            no_item = await call(client, ua.NodeId(ua.ObjectIds.ConditionType),
                                 ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh2),
                                 ua.Variant(later.subscription_id, ua.VariantType.UInt32),
                                 ua.Variant(999999, ua.VariantType.UInt32))
            assert no_item.StatusCode.value == ua.StatusCodes.BadMonitoredItemIdInvalid

            # Back to normal: acknowledged and inactive, the condition is no longer retained. Only the
            # events after the write answer it (the start's own return to normal may have come in
            # after the subscription was made).
            before = len(handler.events)
            await write(client, 100)
            cleared = await events_until(handler, lambda e: field(e, "ConditionName") == "setpoint_limits"
                                         and field(e, "ActiveState/Id") is False, since=before)
            assert cleared and cleared[-1].Retain is False, cleared
            assert mqtt.wait(state_topic, lambda p: p["code"] == "Normal" and p["ts"] > 0), mqtt.all(state_topic)
            # The off-normal alarm cleared but waits for its acknowledgment.
            recipe = await events_until(handler, lambda e: field(e, "ConditionName") == "setpoint_recipe"
                                        and field(e, "ActiveState/Id") is False, since=before)
            assert recipe and recipe[-1].Retain is True and recipe[-1].EventType == ua.NodeId(ua.ObjectIds.OffNormalAlarmType)

            # The audit events of the methods.
            audit_handler = EventHandler()
            audit_sub = await client.create_subscription(50, audit_handler)
            await audit_sub.subscribe_events(client.nodes.server,
                                             client.get_node(ua.ObjectIds.AuditConditionCommentEventType))
            assert (await add_comment(client, CONDITION, cleared[-1].EventId, "closed")).StatusCode.is_good()
            audited = await events_until(audit_handler, lambda e: e.Comment.Text == "closed")
            assert audited and audited[0].ConditionEventId == cleared[-1].EventId and audited[0].Status is True

    asyncio.run(scenario())

    # The trail has every acknowledgment and comment, refusals too, and its chain verifies (the
    # trail's writer thread writes them a moment after the calls).
    assert wait_for(lambda: any(e["details"].get("comment") == "closed" for e in read_audit(audit)), 10)
    entries = read_audit(audit)
    acknowledged = [e for e in entries if e["event"] == "alarm acknowledge"]
    assert acknowledged and acknowledged[0]["details"]["comment"] == "checked the recipe", entries[-5:]
    assert acknowledged[0]["details"]["alarm"] == f"{BASE}/setpoint setpoint_limits"
    assert [e["details"]["comment"] for e in entries if e["event"] == "alarm comment"] == ["maintenance informed", "closed"]
    assert any(e["event"] == "alarm acknowledge refused" for e in entries)
    verified = subprocess.run([str(RAILGATE), "audit", "verify", "--file", str(audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def refreshed_recipe_alarm(client, proc):
    """Subscribes to the alarms, asks for a ConditionRefresh and returns the off-normal alarm's events."""
    handler = EventHandler()
    await refresh(client, await subscribe_alarms(client, handler))
    recipe = await events_until(handler, lambda e: field(e, "ConditionName") == "setpoint_recipe")
    assert recipe, (handler.events, log_of(proc))
    return recipe


def test_a_read_only_session_may_not_acknowledge(procs, broker):
    proc, ua_port, audit = setup(procs, broker, "rgtest-alarms-ro", role="read-only")

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            # No write needed: the simulator's register starts at no recipe value.
            recipe = await refreshed_recipe_alarm(client, proc)
            refused = await acknowledge(client, RECIPE, recipe[-1].EventId, "ok")
            assert refused.StatusCode.value == ua.StatusCodes.BadUserAccessDenied, refused
            # Reading and browsing stay open to it.
            assert (await client.get_node(CONDITION).read_browse_name()).Name == "setpoint_limits.Condition"

    asyncio.run(scenario())
    assert wait_for(lambda: any(e["event"] == "alarm acknowledge refused" and e["details"]["reason"] == "role read-only"
                                for e in read_audit(audit)), 10), read_audit(audit)


def test_part11_acknowledgment_needs_a_comment(procs, broker):
    proc, ua_port, audit = setup(procs, broker, "rgtest-alarms-p11", extra_gateway=", part11: true", console=False)

    async def scenario():
        async with Client(url=f"opc.tcp://127.0.0.1:{ua_port}") as client:
            recipe = await refreshed_recipe_alarm(client, proc)
            bare = await acknowledge(client, RECIPE, recipe[-1].EventId, " ")
            assert bare.StatusCode.value == ua.StatusCodes.BadInvalidArgument, bare
            assert [r.value for r in bare.InputArgumentResults] == [ua.StatusCodes.Good, ua.StatusCodes.BadInvalidArgument]
            done = await acknowledge(client, RECIPE, recipe[-1].EventId, "recipe change R-12 in progress, per SOP-7")
            assert done.StatusCode.is_good(), done

    asyncio.run(scenario())
    assert wait_for(lambda: any(e["event"] == "alarm acknowledge" for e in read_audit(audit)), 10), read_audit(audit)
    entries = read_audit(audit)
    assert any(e["event"] == "alarm acknowledge refused" and "needs a comment" in e["details"]["reason"] for e in entries)
    assert [e["details"]["comment"] for e in entries if e["event"] == "alarm acknowledge"] == [
        "recipe change R-12 in progress, per SOP-7"]
