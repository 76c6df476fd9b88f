/// The commands of the cell language, in the order `help` lists them.
public struct CommandRegistry: Sendable {
    public private(set) var commands: [CommandSpec] = []

    public init(_ commands: [CommandSpec] = []) {
        for command in commands { register(command) }
    }

    /// Adds a command; a later registration of the same name replaces the earlier one.
    public mutating func register(_ command: CommandSpec) {
        if let index = commands.firstIndex(where: { $0.name == command.name }) {
            commands[index] = command
        } else {
            commands.append(command)
        }
    }

    public subscript(name: String) -> CommandSpec? { commands.first { $0.name == name } }

    public var names: [String] { commands.map(\.name) }

    /// The closest known name, if it is close enough to be a plausible typo.
    public func suggestion(for name: String) -> String? {
        nearest(name, among: names)
    }
}

/// The candidate with the smallest edit distance, when that distance is small for the word's length.
func nearest(_ word: String, among candidates: [String]) -> String? {
    let limit = max(1, min(3, word.count / 2))
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0)) }.filter { $0.1 <= limit }
    if let prefixed = candidates.first(where: { $0.hasPrefix(word.lowercased()) && word.count >= 2 }) {
        return prefixed
    }
    return scored.min { $0.1 < $1.1 }?.0
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = min(current[j], previous2[j - 2] + 1)
            }
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
}
