import Testing
@testable import RailgateCore

struct EngineeringUnitTests {
    @Test func everyNameOfAUnitFindsItsUNECEEntry() {
        // (written, UNECE code, unitId, symbol)
        let cases: [(String, String, Int32, String)] = [
            ("CEL", "CEL", 4_408_652, "°C"), ("Cel", "CEL", 4_408_652, "°C"), ("°C", "CEL", 4_408_652, "°C"),
            ("degC", "CEL", 4_408_652, "°C"), ("cel", "CEL", 4_408_652, "°C"),
            ("KWH", "KWH", 4_937_544, "kW·h"), ("kW.h", "KWH", 4_937_544, "kW·h"), ("kWh", "KWH", 4_937_544, "kW·h"),
            ("kW·h", "KWH", 4_937_544, "kW·h"), ("W.h", "WHR", 5_720_146, "W·h"),
            ("V", "VLT", 5_655_636, "V"), ("MW", "MAW", 5_062_999, "MW"), ("rpm", "RPM", 5_394_509, "r/min"),
            ("r/min", "RPM", 5_394_509, "r/min"), ("%", "P1", 20529, "%"), ("pct", "P1", 20529, "%"),
            ("pH", "Q30", 5_321_520, "pH"), ("m³/h", "MQH", 5_067_080, "m³/h"), ("m3/h", "MQH", 5_067_080, "m³/h"),
            ("[psi]", "PS", 20563, "lbf/in²"), ("kvar", "KVR", 4_937_298, "kvar"),
        ]
        for (text, code, id, symbol) in cases {
            let unit = EngineeringUnit.named(text)
            #expect(unit?.code == code && unit?.unitId == id && unit?.symbol == symbol, "\(text): \(String(describing: unit))")
        }
    }

    @Test func theUnitIdFollowsFromTheCode() {
        // OPC UA Part 8 §5.6.3: the code's characters, right-aligned, an octet each.
        for code in ["CEL", "P1", "2N", "KWH", "C62"] {
            let expected = code.unicodeScalars.reduce(Int32(0)) { $0 << 8 | Int32($1.value) }
            #expect(EngineeringUnit.named(code)?.unitId == expected, "\(code)")
        }
    }

    @Test func unknownUnitsAreNilWithTheClosestNames() {
        for text in ["", "degc", "kilowatts", "°K", String(repeating: "x", count: 5000), "\u{0}", "V|1"] {
            #expect(EngineeringUnit.named(text) == nil, "\(text.prefix(20))")
        }
        #expect(EngineeringUnit.suggestions(for: "degF2").first == "degF (°F, degree Fahrenheit)")
        #expect(EngineeringUnit.suggestions(for: "degc").contains("degC (°C, degree Celsius)"))
        // Long text is not compared with every name.
        #expect(EngineeringUnit.suggestions(for: String(repeating: "x", count: 5000)).isEmpty)
        #expect(EngineeringUnit.suggestions(for: "kilowat").count <= 3)
    }

    @Test func unitsOfOneDimensionConvertExactlyWhereTheFractionsAllow() throws {
        func conversion(_ from: String, _ to: String) throws -> (scale: Double, offset: Double)? {
            let a = try #require(EngineeringUnit.named(from)), b = try #require(EngineeringUnit.named(to))
            return a.conversion(to: b)
        }
        // (from, to, a value, the same value converted)
        let cases: [(String, String, Double, Double)] = [
            ("Cel", "degF", -12.5, 9.5), ("degF", "Cel", 212, 100), ("Cel", "K", 0, 273.15), ("K", "Cel", 0, -273.15),
            ("bar", "kPa", 2.5, 250), ("kPa", "bar", 101.325, 1.01325), ("l/min", "m3/h", 1450, 87),
            ("kWh", "MJ", 1, 3.6), ("W.h", "kWh", 1500, 1.5), ("%", "1", 50, 0.5), ("km/h", "m/s", 36, 10),
            ("t/h", "kg/s", 3.6, 1), ("min", "s", 1.5, 90), ("kV", "V", 0.4, 400), ("V", "V", 230.5, 230.5),
        ]
        for (from, to, value, expected) in cases {
            let found = try #require(try conversion(from, to), "\(from) → \(to)")
            #expect(abs(value * found.scale + found.offset - expected) <= abs(expected) * 1e-12 + 1e-12, "\(from) → \(to)")
        }
        // °C → °F is 9/5 and 32 exactly, so a scaled reading converts without rounding noise.
        let celsius = try #require(try conversion("Cel", "degF"))
        #expect(celsius.scale == 1.8 && celsius.offset == 32)
        #expect(Scaling(scale: 0.1, conversionScale: celsius.scale, conversionOffset: celsius.offset).apply(-125) == 9.5)
        #expect(Scaling(conversionScale: celsius.scale, conversionOffset: celsius.offset).apply(21.5) == 70.7)
        // psi has no short fraction: floating point, still right.
        let psi = try #require(try conversion("psi", "bar"))
        #expect(abs(psi.scale - 0.06894757293168361) < 1e-15)
        // Other dimensions, and units without a conversion, do not convert.
        for (from, to) in [("W", "Cel"), ("V", "A"), ("rpm", "Hz"), ("m", "kg"), ("pH", "1")] {
            #expect(try conversion(from, to) == nil, "\(from) → \(to)")
        }
        #expect(EngineeringUnit.named("Cel")?.dimension == "temperature" && EngineeringUnit.named("pH")?.dimension == nil)
    }
}
