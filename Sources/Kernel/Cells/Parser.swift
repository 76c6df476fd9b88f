/// A parsed value with where it came from, so errors can point at it.
public struct Value: Sendable, Equatable {
    public var text: String
    public var token: Token
}

/// One command line, checked against its spec: arguments by name, options with defaults applied.
public struct Invocation: Sendable {
    public var spec: CommandSpec
    public var line: Int
    public var nameToken: Token
    public var arguments: [String: [Value]]
    public var options: [String: Value]

    public func values(_ argument: String) -> [String] { arguments[argument]?.map(\.text) ?? [] }
    public func value(_ argument: String) -> String? { arguments[argument]?.first?.text }

    /// The option's value, or its default.
    public func option(_ name: String) -> String {
        options[name]?.text ?? spec.option(named: name)?.defaultValue ?? ""
    }
    public func int(_ name: String) -> Int { Int(option(name)) ?? 0 }
    public func double(_ name: String) -> Double { Double(option(name)) ?? 0 }
}

/// A line of a cell: a command to run, or `name?` asking for its help in the pager.
public enum ParsedLine: Sendable {
    case command(Invocation)
    case helpPage(CommandSpec, line: Int)
}

/// An error found before anything runs, pointing at a place in the cell.
public struct CellError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case syntax = "SyntaxError"
        case unknownCommand = "UnknownCommand"
        case usage = "UsageError"
    }
    public var kind: Kind
    public var message: String
    public var position: SourcePosition
    /// The cell stops inside a string: more lines would complete it (is_complete says `incomplete`).
    public var unfinished = false
}

/// Checks every line of a cell against the registry. The whole cell is checked before any of it
/// runs, so a typo on line 3 does not leave lines 1–2 half done.
public struct Parser {
    public let registry: CommandRegistry

    public init(registry: CommandRegistry) {
        self.registry = registry
    }

    public func parse(_ cell: String) throws(CellError) -> [ParsedLine] {
        let lines: [Lexer.Line]
        do { lines = try Lexer.lines(cell) } catch {
            throw CellError(
                kind: .syntax, message: error.message, position: error.position,
                unfinished: error.reason == .unterminatedString)
        }
        var parsed: [ParsedLine] = []
        for line in lines { parsed.append(try parse(line)) }
        return parsed
    }

    func parse(_ line: Lexer.Line) throws(CellError) -> ParsedLine {
        let head = line.tokens[0]
        guard head.kind == .word else {
            throw CellError(
                kind: .syntax, message: "a line starts with a command name, not \(describe(head))",
                position: head.start)
        }
        var name = head.text
        if name.hasSuffix("?") || name.hasPrefix("?") {
            name = name.trimmingQuestionMarks()
            guard line.tokens.count == 1, let spec = registry[name] else {
                throw unknown(name, at: head.start)
            }
            return .helpPage(spec, line: line.number)
        }
        guard let spec = registry[name] else { throw unknown(name, at: head.start) }

        var options: [String: Value] = [:]
        var positional: [Value] = []
        for token in line.tokens.dropFirst() {
            if case .option(let key, _) = token.kind {
                guard let option = spec.option(named: key) else {
                    var message = "`\(spec.name)` has no option `\(key)`"
                    if let near = nearest(key, among: spec.options.map(\.name)) {
                        message += "; did you mean `\(near)`?"
                    } else if spec.options.isEmpty {
                        message += "; it takes no options"
                    } else {
                        message += "; its options are " + spec.options.map { "`\($0.name)`" }.joined(separator: ", ")
                    }
                    throw CellError(kind: .usage, message: message, position: token.start)
                }
                guard options[key] == nil else {
                    throw CellError(kind: .usage, message: "option `\(key)` is given twice", position: token.start)
                }
                try check(token, against: option.kind, what: "option `\(key)`")
                options[key] = Value(text: token.text, token: token)
            } else {
                positional.append(Value(text: token.text, token: token))
            }
        }
        let arguments = try bind(positional, to: spec, after: head)
        for option in spec.options where option.isRequired && options[option.name] == nil {
            throw CellError(
                kind: .usage,
                message:
                    "`\(spec.name)` needs \(option.name)=\(option.kind.placeholder): \(option.help); usage: "
                    + "\(spec.usage)",
                position: head.start)
        }
        return .command(
            Invocation(
                spec: spec, line: line.number, nameToken: head, arguments: arguments,
                options: options))
    }

    /// Distributes positional words over the spec's arguments, in order.
    private func bind(_ words: [Value], to spec: CommandSpec, after head: Token) throws(CellError) -> [String: [Value]]
    {
        var result: [String: [Value]] = [:]
        var rest = words[...]
        for (index, argument) in spec.arguments.enumerated() {
            let laterRequired = spec.arguments[(index + 1)...].filter { $0.count == .one || $0.count == .oneOrMore }
                .count
            let take: Int
            switch argument.count {
            case .one: take = rest.isEmpty ? 0 : 1
            case .optional: take = rest.count > laterRequired ? 1 : 0
            case .oneOrMore, .any: take = max(0, rest.count - laterRequired)
            }
            let values = Array(rest.prefix(take))
            rest = rest.dropFirst(take)
            if values.isEmpty && (argument.count == .one || argument.count == .oneOrMore) {
                throw CellError(
                    kind: .usage,
                    message: "`\(spec.name)` needs \(argument.name) (\(argument.help)); usage: \(spec.usage)",
                    position: words.last?.token.end ?? head.end)
            }
            for value in values { try check(value.token, against: argument.kind, what: argument.name) }
            result[argument.name] = values
        }
        if let extra = rest.first {
            let message =
                spec.arguments.isEmpty
                ? "`\(spec.name)` takes no arguments; usage: \(spec.usage)"
                : "too many arguments for `\(spec.name)`; usage: \(spec.usage)"
            throw CellError(kind: .usage, message: message, position: extra.token.start)
        }
        return result
    }

    private func check(_ token: Token, against kind: ValueKind, what: String) throws(CellError) {
        let text = token.text
        func fail(_ why: String) -> CellError {
            CellError(kind: .usage, message: "\(what): \(why)", position: token.start)
        }
        switch kind {
        case .text, .path: return
        case .integer(let range):
            guard let value = Int(text) else { throw fail("`\(text)` is not a whole number") }
            guard range.contains(value) else {
                throw fail("\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            }
        case .number(let range):
            guard let value = Double(text), value.isFinite else { throw fail("`\(text)` is not a number") }
            guard range.contains(value) else {
                throw fail("\(text) is outside \(range.lowerBound)...\(range.upperBound)")
            }
        case .choice(let choices):
            guard choices.contains(text) else {
                var why = "`\(text)` is not one of " + choices.map { "`\($0)`" }.joined(separator: ", ")
                if let near = nearest(text, among: choices) { why += "; did you mean `\(near)`?" }
                throw fail(why)
            }
        case .command:
            guard registry[text] != nil else { throw unknown(text, at: token.start) }
        case .keyword(let word):
            guard text == word else { throw fail("expected the word `\(word)` here, found `\(text)`") }
        }
    }

    private func unknown(_ name: String, at position: SourcePosition) -> CellError {
        var message = "unknown command `\(name)`"
        if let near = registry.suggestion(for: name) { message += "; did you mean `\(near)`?" }
        message += " (`help` lists the commands)"
        return CellError(kind: .unknownCommand, message: message, position: position)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .quoted: return "a quoted string"
        case .option(let key, _): return "an option (`\(key)=`)"
        case .word: return "`\(token.text)`"
        }
    }
}

extension String {
    func trimmingQuestionMarks() -> String {
        var s = Substring(self)
        while s.hasPrefix("?") { s = s.dropFirst() }
        while s.hasSuffix("?") { s = s.dropLast() }
        return String(s)
    }
}
