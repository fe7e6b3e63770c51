"""History and events with python-opcua (the older, synchronous client), where it differs from
asyncua: its read_raw_history always asks for bounds and does not follow continuation points
(the client pages by hand, sending the continuation point back with the same details), its
ReadRawModifiedDetails asks for modified values by default (refused: Railgate keeps raw values),
and its event filter's where clause names the EventType field without a type definition."""

import time
from datetime import datetime, timedelta, timezone

from opcua import Client, ua
from pymodbus.client import ModbusTcpClient

from conftest import free_port, gateway_yaml, start_railgate, start_sim_tcp, tcp_bus_yaml, wait_for, wait_for_port

BASE = "acme/meter1"
TAGS = ("{name: count, ref: 400042, writable: true}",)


class Handler:
    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


def test_history_pages_and_events_with_python_opcua(procs, broker):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    text = gateway_yaml("rgtest-pyopcua", broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text = text.replace("isa95: {enterprise: acme}}", "isa95: {enterprise: acme}, writes: true}")
    text += f"opcua: {{host: 127.0.0.1, port: {ua_port}, writes: true, anonymous_role: operator}}\n"
    text += f"history: {{dir: {procs.tmp}/history, max_read_values: 10, tags: [{{tag: meter1/count}}]}}\n"
    start_railgate(procs, text)
    wait_for_port(ua_port)
    begin = datetime.now(timezone.utc) - timedelta(seconds=1)
    modbus = ModbusTcpClient("127.0.0.1", port=sim_port)
    assert modbus.connect()
    for value in range(1, 26):
        assert not modbus.write_register(41, value, device_id=1).isError()
        time.sleep(0.2)
    modbus.close()
    time.sleep(0.5)

    client = Client(f"opc.tcp://127.0.0.1:{ua_port}")
    client.connect()
    try:
        count = client.get_node(f"ns=1;s={BASE}/count")
        end = datetime.now(timezone.utc) + timedelta(seconds=1)
        # The first page only (10 values), with the bound at or before the start first.
        first = count.read_raw_history(begin, end)
        assert len(first) == 10, first
        # python-opcua's ReadRawModifiedDetails asks for modified values unless told otherwise:
        # Railgate keeps raw values only and says so.
        details = ua.ReadRawModifiedDetails()
        details.StartTime, details.EndTime, details.ReturnBounds = begin, end, False
        value_id = ua.HistoryReadValueId()
        value_id.NodeId = count.nodeid
        params = ua.HistoryReadParameters()
        params.HistoryReadDetails = details
        params.ReleaseContinuationPoints = False
        params.NodesToRead.append(value_id)
        refused = client.uaclient.history_read(params)[0]
        assert refused.StatusCode.value == ua.StatusCodes.BadHistoryOperationUnsupported, refused
        # By hand: raw values, the same details again with each continuation point until none.
        details.IsReadModified = False
        values, point, pages = [], None, 0
        while pages < 20:
            value_id = ua.HistoryReadValueId()
            value_id.NodeId = count.nodeid
            value_id.ContinuationPoint = point
            params = ua.HistoryReadParameters()
            params.HistoryReadDetails = details
            params.TimestampsToReturn = ua.TimestampsToReturn.Both
            params.ReleaseContinuationPoints = False
            params.NodesToRead.append(value_id)
            result = client.uaclient.history_read(params)[0]
            values += [dv.Value.Value for dv in result.HistoryData.DataValues if dv.StatusCode.is_good()]
            pages += 1
            point = result.ContinuationPoint
            if not point:
                break
        assert values[-25:] == list(range(1, 26)), values
        assert pages >= 3, pages

        # Events: a write through python-opcua is an AuditWriteUpdateEventType it receives.
        handler = Handler()
        subscription = client.create_subscription(50, handler)
        subscription.subscribe_events(client.get_node(ua.ObjectIds.Server),
                                      client.get_node(ua.ObjectIds.AuditWriteUpdateEventType))
        count.set_value(ua.DataValue(ua.Variant(77, ua.VariantType.UInt16)))
        assert wait_for(lambda: any(getattr(e, "NewValue", None) == 77 for e in handler.events), 10), handler.events
        event = next(e for e in handler.events if getattr(e, "NewValue", None) == 77)
        assert event.Status is True and event.OldValue == 25 and event.SourceName == f"{BASE}/count"
        subscription.delete()
    finally:
        client.disconnect()
