import Testing
@testable import RailgateYAML

@Suite struct YAMLComposeTests {
    func compose(_ text: String, maxDepth: Int = 64, maxNodes: Int = 2_000_000) throws(YAML.Problem) -> Node? {
        try YAML.compose(text, maxDepth: maxDepth, maxNodes: maxNodes)
    }

    func problem(_ text: String, maxDepth: Int = 64, maxNodes: Int = 2_000_000) -> YAML.Problem? {
        do {
            _ = try compose(text, maxDepth: maxDepth, maxNodes: maxNodes)
            return nil
        } catch {
            return error
        }
    }

    @Test func scalarsKeepTheirTextStyleAndLine() throws {
        let root = try #require(try compose("# head\nid: 00001\nname: 'pump 1'\nlist:\n  - a\n  - \"b\"\nflow: {x: 1}\n"))
        let mapping = try #require(root.mapping)
        #expect(mapping.keys == ["id", "name", "list", "flow"])
        #expect(mapping["id"]?.string == "00001")
        #expect(mapping["id"]?.scalar?.style == .plain)
        #expect(mapping["id"]?.line == 2)
        #expect(mapping["name"]?.scalar?.style == .singleQuoted)
        #expect(mapping["list"]?.sequence?.map(\.string) == ["a", "b"])
        #expect(mapping["list"]?.line == 5)
        #expect(mapping["list"]?.sequence?[1].scalar?.style == .doubleQuoted)
        #expect(mapping["flow"]?.mapping?["x"]?.int == 1)
        #expect(root.line == 2)
    }

    @Test func emptyTextAndCommentsHoldNoNode() throws {
        #expect(try compose("") == nil)
        #expect(try compose("# only a comment\n") == nil)
    }

    @Test func aliasesAreTheNodesTheirAnchorsName() throws {
        let root = try #require(try compose("base: &b {host: h, port: 1}\nother: *b\n"))
        #expect(root.mapping?["other"]?.mapping?["host"]?.string == "h")
        #expect(problem("a: *nowhere\n") == YAML.Problem(line: 1, "alias *nowhere names no anchor defined before it"))
    }

    @Test func aliasesOfAliasesAreCountedNotExpanded() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1..<10 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let found = problem(lines.joined(separator: "\n") + "\n", maxNodes: 2_000_000)
        #expect(found?.message == "the YAML expands to more than 2000000 nodes (aliases of aliases?)")
        // Keys, values and what each alias stands for count: 13 nodes here, the root's 12 below it.
        #expect(problem("a: &a [1, 2]\nb: [*a, *a]\n", maxNodes: 12) == nil)
        #expect(problem("a: &a [1, 2]\nb: [*a, *a]\n", maxNodes: 11) != nil)
    }

    @Test func keysAreSingleValues() {
        #expect(problem("k: &k v\n*k : 1\n") == YAML.Problem(line: 2, "an alias may not be a mapping key"))
        #expect(problem("x: {*k: 1}\n")?.message == "an alias may not be a mapping key")
        #expect(problem("[a, b]: 1\n") == YAML.Problem(line: 1, "a list or mapping may not be a mapping key"))
        #expect(problem("? {a: 1}\n: 2\n")?.message == "a list or mapping may not be a mapping key")
    }

    @Test func aRepeatedKeyNamesBothLines() {
        #expect(problem("mqtt:\n  host: a\n  port: 1883\n  host: b\n") == YAML.Problem(line: 4, "duplicate key \"host\" (first at line 2)"))
        #expect(problem("t: {a: 1, b: 2, a: 3}\n") == YAML.Problem(line: 1, "duplicate key \"a\" (first at line 1)"))
        // The same key in different mappings is fine.
        #expect(problem("- {a: 1}\n- {a: 2}\n") == nil)
    }

    @Test func nestingIsBoundedAtTheFirstLevelPastTheLimit() {
        #expect(problem("a:\n  b: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n")
                == YAML.Problem(line: 2, "YAML nested deeper than 64 levels"))
        #expect(problem(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
        #expect(problem(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)) != nil)
    }

    @Test func syntaxErrorsHaveTheirLine() {
        let found = problem("gateway:\n  id: [unclosed\n")
        #expect(found?.message.hasPrefix("YAML syntax: ") == true)
        #expect(found?.line != nil)
        #expect(problem("a: 1\n---\nb: 2\n") == YAML.Problem(line: 2, "a configuration is one YAML document; another starts here"))
        #expect(problem("a: \u{7}\n")?.message.hasPrefix("YAML: ") == true)
        #expect(problem("a: \u{7}\n")?.line == 1)
    }

    @Test func numbersAndBooleans() {
        #expect(Node.int(of: "42") == 42)
        #expect(Node.int(of: "-42") == -42)
        #expect(Node.int(of: "+7") == 7)
        #expect(Node.int(of: "0x1F") == 31)
        #expect(Node.int(of: "0o17") == 15)
        #expect(Node.int(of: "0b101") == 5)
        #expect(Node.int(of: "-9223372036854775808") == Int.min)
        #expect(Node.int(of: "9223372036854775808") == nil)
        for bad in ["", "-", "0x", "--1", "-+1", "0x-1", "1.5", "ten"] { #expect(Node.int(of: bad) == nil, "\(bad)") }
        #expect(Node.bool(of: "Yes") == true)
        #expect(Node.bool(of: "OFF") == false)
        #expect(Node.bool(of: "1") == nil)
    }
}

@Suite struct YAMLSerializeTests {
    @Test func blockTextKeepsOrderAndQuotes() throws {
        let text = "gateway:\n  id: '00001'\n  writes: true\nsouth:\n- name: tcp1\n  tags:\n  - name: t\n    ref: 400001\n  - \"two\"\n"
        let root = try #require(try YAML.compose(text, maxDepth: 64, maxNodes: 1000))
        #expect(YAML.serialize(root) == text)
        // Flow collections are written in block style, one line each.
        let flow = try #require(try YAML.compose("south: [{name: tcp1, tags: [{name: t, ref: 400001}, \"two\"]}]\n", maxDepth: 64, maxNodes: 1000))
        #expect(YAML.serialize(flow) == "south:\n- name: tcp1\n  tags:\n  - name: t\n    ref: 400001\n  - \"two\"\n")
    }

    @Test func editedMappingsWriteTheirKeysInOrder() {
        var mapping: Node.Mapping = ["b": .scalar(.init("1")), "a": .scalar(.init("2"))]
        mapping["c"] = .sequence([.scalar(.init("x"))])
        mapping["b"] = nil
        mapping["a"] = .scalar(.init("needs: quotes"))
        #expect(YAML.serialize(.mapping(mapping)) == "a: 'needs: quotes'\nc:\n- x\n")
    }

    @Test func aScalarAloneAndAnEmptyMapping() {
        #expect(YAML.serialize(.scalar(.init("gw"))).hasPrefix("gw\n"))
        #expect(YAML.serialize(.mapping(Node.Mapping())) == "{}\n")
    }
}
