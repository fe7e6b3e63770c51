"""Tag history end to end, asyncua as the OPC UA client: a MES that was away reads the gap back
with HistoryRead (raw values, pages behind continuation points, bounds, newest first), values
at given times (stepped for counts, interpolated for analog values), across a graceful restart
and a kill -9 of the gateway; requests the server refuses, with their status codes. The device
is the pymodbus simulator; a pymodbus client changes its registers while mosquitto collects what
the gateway published, as the independent witness of every value it saw."""

import asyncio
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

from asyncua import Client, ua
from pymodbus.client import ModbusTcpClient

from conftest import (RAILGATE, free_port, gateway_yaml, log_of, start_railgate, start_sim_tcp, stop_gracefully, tcp_bus_yaml,
                      wait_for, wait_for_port)

BASE = "acme/meter1"
# Holding registers 41 and 42 of the simulator: a part counter and a level (0.1 units per count).
TAGS = ("{name: count, ref: 400042}", "{name: level, ref: 400043, scale: 0.1}", "{name: speed, ref: 400006}")


def history_yaml(tmp, max_read_values=10):
    return f"""history:
  dir: {tmp}/history
  fsync_interval_ms: 200
  max_read_values: {max_read_values}
  tags:
    - {{tag: meter1/count, max_values: 5000}}
    - {{tag: meter1/level, max_values: 5000, max_age_h: 24}}
"""


def setup(procs, broker, collector_factory, prefix, max_read_values=10):
    sim_port = start_sim_tcp(procs, units="1")
    ua_port = free_port()
    mqtt = collector_factory(f"{prefix}/#")
    text = gateway_yaml(prefix, broker, tcp_bus_yaml("tcp1", sim_port, "meter1", tags=TAGS))
    text += f"opcua: {{host: 127.0.0.1, port: {ua_port}}}\n" + history_yaml(procs.tmp, max_read_values)
    text += f"console: {{socket: {procs.tmp}/control.sock, history_dir: {procs.tmp}/configs}}\n"
    return sim_port, ua_port, mqtt, text


class Writer:
    """Writes count = 1, 2, 3, … and level = 10 × count into the simulator every `period` s."""

    def __init__(self, port, period=0.25):
        self.port, self.period = port, period
        self.stop = threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        modbus = ModbusTcpClient("127.0.0.1", port=self.port)
        assert modbus.connect()
        try:
            while not self.stop.is_set():
                self.count += 1
                assert not modbus.write_registers(41, [self.count, 10 * self.count], device_id=1).isError()
                time.sleep(self.period)
        finally:
            modbus.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def published(mqtt, prefix, tag):
    """(ms timestamp, value) of every good value the gateway published for a tag."""
    return [(p["ts"], p["value"]) for p in mqtt.all(f"{prefix}/{BASE}/{tag}") if p.get("quality") == "good"]


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def ms(data_value):
    """The source timestamp in whole ms, as the JSON `ts` (exact integer arithmetic)."""
    return (data_value.SourceTimestamp.replace(tzinfo=timezone.utc) - EPOCH) // timedelta(milliseconds=1)


async def history_status(client, node_id, details, continuation=None, timestamps=ua.TimestampsToReturn.Both):
    value_id = ua.HistoryReadValueId()
    value_id.NodeId = ua.NodeId.from_string(node_id)
    value_id.ContinuationPoint = continuation
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = details
    params.TimestampsToReturn = timestamps
    params.ReleaseContinuationPoints = False  # asyncua's default is True
    params.NodesToRead.append(value_id)
    return (await client.uaclient.history_read(params))[0]


def raw_details(start=None, end=None, count=0, bounds=False):
    details = ua.ReadRawModifiedDetails()
    details.IsReadModified = False
    details.StartTime = start or ua.get_win_epoch()
    details.EndTime = end or ua.get_win_epoch()
    details.NumValuesPerNode = count
    details.ReturnBounds = bounds
    return details


def test_a_client_away_reads_the_gap_back_across_a_restart(procs, broker, collector_factory):
    prefix = "rgtest-hist"
    sim_port, ua_port, mqtt, text = setup(procs, broker, collector_factory, prefix)
    proc = start_railgate(procs, text)
    wait_for_port(ua_port)
    url = f"opc.tcp://127.0.0.1:{ua_port}"

    async def before():
        async with Client(url=url) as client:
            count = client.get_node(f"ns=1;s={BASE}/count")
            assert await count.read_attribute(ua.AttributeIds.Historizing) is not None
            assert (await count.read_attribute(ua.AttributeIds.Historizing)).Value.Value is True
            access = (await count.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
            assert access & ua.AccessLevel.HistoryRead.mask, access
            speed = client.get_node(f"ns=1;s={BASE}/speed")
            assert (await speed.read_attribute(ua.AttributeIds.Historizing)).Value.Value is False
            capabilities = client.get_node(ua.ObjectIds.HistoryServerCapabilities)
            access_data = await capabilities.get_child("0:AccessHistoryDataCapability")
            assert await access_data.read_value() is True
            assert await (await capabilities.get_child("0:MaxReturnDataValues")).read_value() == 10
            # The port opens before the first poll: its value may still be on its way (a loaded machine).
            for _ in range(150):
                value = await count.read_data_value(raise_on_bad_status=False)
                if value.StatusCode.is_good():
                    return value.SourceTimestamp
                await asyncio.sleep(0.1)
            raise AssertionError("count never became good")

    seen = asyncio.run(before())
    # The MES goes away; the line runs on and the gateway is restarted in the meantime.
    with Writer(sim_port) as writer:
        assert wait_for(lambda: writer.count >= 12, 20)
        assert stop_gracefully(proc) == 0, log_of(proc)
        time.sleep(1.0)
        proc = start_railgate(procs, text, name="railgate-2")
        wait_for_port(ua_port)
        assert wait_for(lambda: writer.count >= 30, 30)
    assert wait_for(lambda: published(mqtt, prefix, "count") and published(mqtt, prefix, "count")[-1][1] == writer.count, 10)
    witness = [(ts, v) for ts, v in published(mqtt, prefix, "count")
               if ts >= (seen.replace(tzinfo=timezone.utc) - EPOCH) // timedelta(milliseconds=1)]
    assert len(witness) >= 20, witness

    async def after():
        async with Client(url=url) as client:
            count = client.get_node(f"ns=1;s={BASE}/count")
            now = datetime.now(timezone.utc)
            # max_read_values is 10: asyncua follows the continuation points page by page.
            gap = await count.read_raw_history(starttime=seen, endtime=now + timedelta(seconds=1), return_bounds=False)
            # Two nodes in one request share max_read_values: the second waits behind its
            # continuation point.
            params = ua.HistoryReadParameters()
            params.HistoryReadDetails = raw_details(seen, now + timedelta(seconds=1))
            params.TimestampsToReturn = ua.TimestampsToReturn.Both
            params.ReleaseContinuationPoints = False
            for tag in ("count", "level"):
                params.NodesToRead.append(ua.HistoryReadValueId(NodeId=ua.NodeId.from_string(f"ns=1;s={BASE}/{tag}")))
            first, second = await client.uaclient.history_read(params)
            assert len(first.HistoryData.DataValues) == 10 and first.ContinuationPoint, first
            assert not second.HistoryData.DataValues and second.ContinuationPoint, second
            return gap

    gap = asyncio.run(after())
    read = [(ms(dv), dv.Value.Value) for dv in gap if dv.StatusCode.is_good()]
    # Every value the gateway published in the gap is in its history, in order, with its timestamp.
    assert set(witness) <= set(read), (sorted(set(witness) - set(read)), read)
    assert [t for t, _ in read] == sorted(t for t, _ in read)
    assert len(gap) > 10, "the gap fits one page: continuation points were not exercised"
    assert log_of(proc).count("history file resized") == 0
    # show status: what the history holds and whether values were lost.
    status = subprocess.run([RAILGATE, "console", "--socket", procs.tmp / "control.sock"], input="show status\n",
                            capture_output=True, text=True, timeout=30).stdout
    assert f"history   {procs.tmp}/history: 2 tag(s), stored=" in status and "lost=0" in status, status


def test_bounds_direction_at_time_and_refusals(procs, broker, collector_factory):
    prefix = "rgtest-hist2"
    sim_port, ua_port, mqtt, text = setup(procs, broker, collector_factory, prefix, max_read_values=1000)
    proc = start_railgate(procs, text)
    wait_for_port(ua_port)
    with Writer(sim_port, period=0.3) as writer:
        assert wait_for(lambda: writer.count >= 10, 20)
    assert wait_for(lambda: any(v == writer.count for _, v in published(mqtt, prefix, "count")), 10)
    time.sleep(0.5)
    url = f"opc.tcp://127.0.0.1:{ua_port}"

    async def scenario():
        async with Client(url=url) as client:
            count = client.get_node(f"ns=1;s={BASE}/count")
            level = client.get_node(f"ns=1;s={BASE}/level")
            everything = await count.read_raw_history(starttime=datetime(2000, 1, 1, tzinfo=timezone.utc),
                                                      endtime=datetime.now(timezone.utc) + timedelta(seconds=5),
                                                      return_bounds=False)
            values = [dv for dv in everything if dv.StatusCode.is_good()]
            assert [dv.Value.Value for dv in values][-5:] == list(range(writer.count - 4, writer.count + 1)), everything
            third, fourth = values[-3], values[-2]

            # Bounds: between two stored values, the ones around are returned.
            inner = await count.read_raw_history(starttime=third.SourceTimestamp + timedelta(milliseconds=1),
                                                 endtime=fourth.SourceTimestamp - timedelta(milliseconds=1),
                                                 return_bounds=True)
            assert [dv.Value.Value for dv in inner] == [third.Value.Value, fourth.Value.Value], inner
            # Before the first stored value: a bound that is not found.
            early = await history_status(client, f"ns=1;s={BASE}/count",
                                         raw_details(datetime(2001, 1, 1, tzinfo=timezone.utc),
                                                     datetime(2001, 1, 2, tzinfo=timezone.utc), bounds=True))
            codes = [dv.StatusCode.value for dv in early.HistoryData.DataValues]
            assert codes[0] == ua.StatusCodes.BadBoundNotFound, codes
            # Nothing in a range: GoodNoData.
            empty = await history_status(client, f"ns=1;s={BASE}/count",
                                         raw_details(datetime(2001, 1, 1, tzinfo=timezone.utc),
                                                     datetime(2001, 1, 2, tzinfo=timezone.utc)))
            assert empty.StatusCode.value == ua.StatusCodes.GoodNoData and not empty.HistoryData.DataValues
            # An end and a count: newest first.
            newest = await history_status(client, f"ns=1;s={BASE}/count",
                                          raw_details(end=datetime.now(timezone.utc) + timedelta(seconds=5), count=3))
            assert [dv.Value.Value for dv in newest.HistoryData.DataValues] == [writer.count, writer.count - 1,
                                                                                   writer.count - 2]
            assert newest.ContinuationPoint is None

            # At a time between two values: the count holds its value (stepped); the level is
            # interpolated; both say so in their status' historian bits. (A time exactly at a
            # stored value gives it raw; asyncua's datetimes hold µs, the stored times 100 ns.)
            middle = third.SourceTimestamp + (fourth.SourceTimestamp - third.SourceTimestamp) / 2
            details = ua.ReadAtTimeDetails()
            details.ReqTimes = [middle, fourth.SourceTimestamp + timedelta(microseconds=1),
                                datetime(2001, 1, 1, tzinfo=timezone.utc)]
            details.UseSimpleBounds = True
            stepped = await history_status(client, f"ns=1;s={BASE}/count", details)
            at_middle, after_fourth, too_early = stepped.HistoryData.DataValues
            assert at_middle.Value.Value == third.Value.Value and at_middle.StatusCode.value & 0x7FF == 0x402, at_middle
            assert at_middle.SourceTimestamp == middle
            assert after_fourth.Value.Value == fourth.Value.Value
            assert too_early.StatusCode.value & 0xFFFF0000 == ua.StatusCodes.BadNoData
            levels = [dv for dv in await level.read_raw_history(starttime=third.SourceTimestamp - timedelta(seconds=1),
                                                                 endtime=fourth.SourceTimestamp + timedelta(seconds=1),
                                                                 return_bounds=False) if dv.StatusCode.is_good()]
            low = max((dv for dv in levels if dv.SourceTimestamp <= middle), key=lambda dv: dv.SourceTimestamp)
            high = min((dv for dv in levels if dv.SourceTimestamp > middle), key=lambda dv: dv.SourceTimestamp)
            details.ReqTimes = [middle]
            analog = (await history_status(client, f"ns=1;s={BASE}/level", details)).HistoryData.DataValues[0]
            fraction = (middle - low.SourceTimestamp) / (high.SourceTimestamp - low.SourceTimestamp)
            expected = low.Value.Value + (high.Value.Value - low.Value.Value) * fraction
            # The test knows the stored times to the µs only (asyncua's datetimes): 1 µs of a 0.3 s
            # step between values 1.0 apart is 3e-6.
            assert abs(analog.Value.Value - expected) < 1e-4, (analog, low, high)
            assert analog.StatusCode.value & 0x7FF == 0x402

            # Refused: a tag without history, a request without times, aggregates, a made-up
            # continuation point.
            speed = await history_status(client, f"ns=1;s={BASE}/speed", raw_details(start=middle, count=5))
            assert speed.StatusCode.value == ua.StatusCodes.BadHistoryOperationUnsupported
            no_times = await history_status(client, f"ns=1;s={BASE}/count", raw_details(count=5))
            assert no_times.StatusCode.value == ua.StatusCodes.BadInvalidTimestampArgument
            processed = ua.ReadProcessedDetails()
            processed.StartTime, processed.EndTime = middle, datetime.now(timezone.utc)
            aggregate = await history_status(client, f"ns=1;s={BASE}/count", processed)
            assert aggregate.StatusCode.value == ua.StatusCodes.BadHistoryOperationUnsupported
            bogus = await history_status(client, f"ns=1;s={BASE}/count", raw_details(start=middle), continuation=b"H1234")
            assert bogus.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid
            try:
                await history_status(client, f"ns=1;s={BASE}/count", raw_details(start=middle),
                                     timestamps=ua.TimestampsToReturn.Neither)
                raise AssertionError("Neither was accepted")
            except ua.UaStatusCodeError as error:
                assert error.code == ua.StatusCodes.BadTimestampsToReturnInvalid
            return values[-1]

    last = asyncio.run(scenario())

    # kill -9: what the gateway stored stays readable after the restart.
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc = start_railgate(procs, text, name="railgate-2")
    wait_for_port(ua_port)

    async def after_kill():
        async with Client(url=url) as client:
            count = client.get_node(f"ns=1;s={BASE}/count")
            again = await count.read_raw_history(starttime=last.SourceTimestamp, numvalues=1, return_bounds=False)
            assert again and again[0].Value.Value == last.Value.Value and again[0].SourceTimestamp == last.SourceTimestamp

    asyncio.run(after_kill())
    assert "history" not in log_of(proc).lower() or "history file has no valid header" not in log_of(proc)


def test_check_lists_the_history_and_refuses_what_does_not_fit(tmp_path):
    import subprocess
    from conftest import RAILGATE
    text = gateway_yaml("rgtest-hist-check", 1883, tcp_bus_yaml("tcp1", 5020, "meter1", tags=TAGS))
    text += history_yaml(tmp_path)
    path = tmp_path / "history.yaml"
    path.write_text(text)
    result = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert f"history: {tmp_path}/history, 2 tag(s), 1 of 256 MiB on disk, fsync every 200 ms, at most 10 values per HistoryRead" in out, out
    assert "  meter1/level: the newest 5000 values, at most 24 h old" in out, out

    path.write_text(text.replace("max_values: 5000}", "max_values: 50000000}", 1).replace("fsync_interval_ms: 200", "max_mb: 1024"))
    result = subprocess.run([RAILGATE, "check", "--config", path], capture_output=True, text=True, timeout=30)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"{path}:13: history.max_mb: the history files take 1907.6 MiB (2 tags × their max_values × 40 bytes), more than max_mb 1024; keep fewer values or raise max_mb" in out, out
