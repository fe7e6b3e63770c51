import RailgateCore

/// A line diff in the style of `show | compare`: unchanged lines are left
/// out except for `context` lines around each change; removed lines start
/// with `-`, added lines with `+`.
enum LineDiff {
    static func compare(_ old: String, _ new: String, context: Int = 2) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Longest common subsequence table (configurations are a few hundred lines).
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var lines: [(Character, String)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count && j < b.count && a[i] == b[j] {
                lines.append((" ", a[i])); i += 1; j += 1
            } else if i < a.count && (j == b.count || lcs[i + 1][j] >= lcs[i][j + 1]) {
                // Removed lines before the lines that replace them.
                lines.append(("-", a[i])); i += 1
            } else {
                lines.append(("+", b[j])); j += 1
            }
        }
        let changed = lines.indices.filter { lines[$0].0 != " " }
        guard !changed.isEmpty else { return "" }
        var keep = Set<Int>()
        for index in changed {
            for near in max(0, index - context)...min(lines.count - 1, index + context) { keep.insert(near) }
        }
        var out: [String] = []
        var previous = -1
        for index in keep.sorted() {
            if previous >= 0 && index > previous + 1 { out.append("  …") }
            let (mark, text) = lines[index]
            // Compared as written, shown masked: a changed password is a changed line without its value.
            out.append("\(mark) \(maskingSecrets(text))")
            previous = index
        }
        return out.joined(separator: "\n")
    }

    /// `password: s3cret` → `password: ********` (also inside flow mappings), so
    /// secrets reach neither the screen nor the audit trail.
    static func maskingSecrets(_ line: String) -> String {
        guard let range = line.firstRange(of: "password:") else { return line }
        let after = line[range.upperBound...]
        let valueEnd = after.firstIndex { $0 == "," || $0 == "}" } ?? after.endIndex
        let value = after[..<valueEnd].trimmed()
        guard !value.isEmpty else { return line }
        return String(line[..<range.upperBound]) + " ********" + String(after[valueEnd...])
    }
}
