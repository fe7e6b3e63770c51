/// The Levenshtein distance between two sequences (insertions, deletions and substitutions of one
/// element each), for "did you mean" suggestions: console commands and tag names (by character),
/// engineering units (by Unicode scalar).
public enum EditDistance {
    public static func between<A: Collection, B: Collection>(_ a: A, _ b: B) -> Int
    where A.Element: Equatable, B.Element == A.Element {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The candidate a mistyped `word` most likely meant: the closest within edit distance 2
    /// (1 for words of up to 3 characters), else one that `word` begins, else nil.
    public static func closest(_ word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, between(word.lowercased(), $0.lowercased())) }.sorted { $0.1 < $1.1 }
        if let best = scored.first, best.1 <= (word.count >= 4 ? 2 : 1) { return best.0 }
        return candidates.first { $0.hasPrefix(word) && !word.isEmpty }
    }
}
