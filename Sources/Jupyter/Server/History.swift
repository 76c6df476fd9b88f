import Foundation

/// The inputs (and text results) of this kernel's executions, for history_request.
/// Lines are numbered by execution count in session 1, the only session a kernel process has.
public struct History: Sendable {
    public struct Entry: Sendable, Equatable {
        public var line: Int
        public var input: String
        public var output: String?
    }

    public static let session = 1
    public private(set) var entries: [Entry] = []

    public init() {}

    public mutating func record(line: Int, input: String, output: String?) {
        entries.append(Entry(line: line, input: input, output: output))
    }

    /// Answers a history_request's content with the list of `[session, line, input]` (or
    /// `[session, line, [input, output]]` when `output` is asked for).
    public func answer(_ content: JSON) -> [JSON] {
        let withOutput = content["output"]?.bool ?? false
        let selected: [Entry]
        switch content["hist_access_type"]?.string ?? "tail" {
        case "range":
            let session = content["session"]?.int ?? 0
            guard session == 0 || session == Self.session else { return [] }
            let start = content["start"]?.int ?? 0
            let stop = content["stop"]?.int
            selected = entries.filter { entry in entry.line >= start && (stop.map { entry.line < $0 } ?? true) }
        case "search":
            let pattern = content["pattern"]?.string ?? "*"
            var matches = entries.filter { fnmatch(pattern, $0.input, 0) == 0 }
            if content["unique"]?.bool ?? false {
                var seen = Set<String>()
                matches = matches.reversed().filter { seen.insert($0.input).inserted }.reversed()
            }
            selected = tail(matches, content["n"]?.int)
        default:
            selected = tail(entries, content["n"]?.int ?? 10)
        }
        return selected.map { entry in
            let value: JSON =
                withOutput
                ? [.string(entry.input), entry.output.map(JSON.string) ?? .null] : .string(entry.input)
            return [.int(Self.session), .int(entry.line), value]
        }
    }

    private func tail(_ list: [Entry], _ n: Int?) -> [Entry] {
        guard let n, n >= 0 else { return list }
        return Array(list.suffix(n))
    }
}
