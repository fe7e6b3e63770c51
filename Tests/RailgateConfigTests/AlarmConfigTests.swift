import Testing
@testable import RailgateConfig
import RailgateCore

struct AlarmConfigTests {
    static let alarms = """
    alarms:
      - name: freq_limits
        tag: drive1/freq
        limits: {high_high: 48, high: 45, low: 5, low_low: 2}
        deadband: 0.5
        severity: 700
        message: Drive frequency out of range
      - {name: stopped, tag: meter1/run, normal: [true], severity: 300}

    """
    static let history = "history:\n  tags:\n    - {tag: drive1/freq_limits}\n"

    func refused(_ old: String, _ new: String) -> [ConfigIssue] {
        precondition(Self.alarms.contains(old), old)
        do { _ = try Configuration.load(yaml: Self.alarms.replacingOccurrences(of: old, with: new) + validYAML); return [] }
        catch { return error.issues }
    }

    @Test func alarmsPublishStateTagsOnTheirDevices() throws {
        let configuration = try Configuration.load(yaml: Self.alarms + Self.history + validYAML)
        let tags = configuration.tags()
        let definitions = configuration.alarmDefinitions(tags: tags)
        #expect(definitions.count == 2)
        #expect(tags[definitions[0].tag].path == "acme/plant1/pack/line3/drive1/freq")
        #expect(definitions[0].output.map { tags[$0].path } == "acme/plant1/pack/line3/drive1/freq_limits")
        #expect(definitions[0].kind == .limit(highHigh: 48, high: 45, low: 5, lowLow: 2, deadband: 0.5))
        #expect(definitions[0].severity == 700 && definitions[0].message == "Drive frequency out of range")
        #expect(definitions[1].output.map { tags[$0].path } == "acme/plant1/pack/line3/meter1/stopped")
        #expect(definitions[1].kind == .offNormal(normal: [1]) && definitions[1].message == "meter1/run stopped")
        let state = tags[definitions[1].output!]
        #expect(state.dataType == .uint16 && state.codes == AlarmEngine.stateCodes && !state.writable)
        // A state tag can be historized like any tag.
        #expect(configuration.historizedTags(tags).map { tags[$0.index].name } == ["freq_limits"])
    }

    @Test func badAlarmsAreRefusedWithPathAndLine() {
        let cases: [(String, String, String, Int, String)] = [
            ("tag: drive1/freq", "tag: drive1/frq", "alarms[0].tag", 3, "no tag \"drive1/frq\"; did you mean \"drive1/freq\"?"),
            ("tag: drive1/freq", "tag: meter1/serial", "alarms[0].tag", 3,
             "meter1/serial is a string tag; alarms watch numeric and boolean tags"),
            ("high: 45,", "high: 50,", "alarms[0].limits.high_high", 4, "high_high 48.0 must be above high 50.0"),
            ("low: 5,", "low: 1,", "alarms[0].limits.low", 4, "low 1.0 must be above low_low 2.0"),
            ("limits: {high_high: 48, high: 45, low: 5, low_low: 2}", "limits: {}", "alarms[0].limits", 4,
             "give at least one of high_high, high, low, low_low"),
            ("limits: {high_high: 48, high: 45, low: 5, low_low: 2}", "limits: {high: 45}\n    normal: [1]", "alarms[0].normal", 5,
             "give either limits {high_high, high, low, low_low} or normal [values], not both"),
            ("deadband: 0.5", "deadband: -1", "alarms[0].deadband", 5, "must be 0 or more"),
            ("severity: 700", "severity: 1001", "alarms[0].severity", 6, "1001 is out of range 1...1000"),
            ("name: stopped", "name: speed", "alarms[1].name", 8,
             "device meter1 has a tag speed: an alarm publishes its state as tag meter1/speed; name the alarm otherwise"),
            ("name: stopped", "name: door, tag: drive1/freq, normal: [1], x: 1}\n  - {name: stopped", "alarms[1].x", 8,
             "unknown key \"x\" (expected one of: deadband, limits, message, name, normal, severity, tag)"),
            ("normal: [true]", "normal: [maybe]", "alarms[1].normal[0]", 8, "expected a number or true/false, found \"maybe\""),
            ("normal: [true]", "normal: []", "alarms[1].normal", 8, "list 1 to 64 normal values"),
            ("tag: meter1/run, normal: [true]", "tag: meter1/run, limits: {high: 1}", "alarms[1].limits", 8,
             "meter1/run is a boolean tag; give normal [false] (or [true]) for an off-normal alarm"),
            ("tag: meter1/run, normal: [true]", "tag: meter1/speed, normal: [1.5]", "alarms[1].normal[0]", 8,
             "meter1/speed has integer values; 1.5 never is one"),
            ("name: stopped", "name: \"a b\"", "alarms[1].name", 8,
             "\"a b\" may contain only letters, digits, _, - and . (it becomes part of tag paths and MQTT topics)"),
        ]
        for (old, new, path, line, message) in cases {
            let found = refused(old, new)
            #expect(found.map(\.path) == [path], "\(new): \(found)")
            #expect(found.first?.line == line, "\(new)")
            #expect(found.first?.message == message, "\(new)")
        }
    }

    @Test func anAlarmDefinedTwiceIsRefused() {
        let found = refused("name: stopped, tag: meter1/run", "name: freq_limits, tag: drive1/freq")
        #expect(found.map(\.path) == ["alarms[1].name"])
        #expect(found.first?.message == "alarm drive1/freq_limits is defined twice (first at alarms[0], line 2)")
    }
}
