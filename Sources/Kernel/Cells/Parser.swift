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

    /// Whether the cell gave the option.
    public func given(_ name: String) -> Bool { options[name] != nil }

    /// The option's text as the cell gave it, else its default. Throws when it has neither: the
    /// command asked for a value its spec does not promise (see `givenOption` for options whose
    /// absence means "unchanged").
    public func option(_ name: String) throws -> String {
        if let value = options[name]?.text ?? spec.option(named: name)?.defaultValue { return value }
        throw CommandError("`\(spec.name)` has no value for \(name)= (it was not given and has no default)")
    }
    /// The option's text only if the cell gave it.
    public func givenOption(_ name: String) -> String? { options[name]?.text }

    /// The option as a whole number: given or default. Never a silent 0: a text that is not a
    /// number (the parser checked given values; the registry's tests check defaults) throws.
    public func int(_ name: String) throws -> Int { try number(name, try option(name), Int.init) }
    public func double(_ name: String) throws -> Double { try number(name, try option(name), Double.init) }
    /// The option as a number only if the cell gave it (nil: leave the setting as it is).
    public func givenInt(_ name: String) throws -> Int? { try givenOption(name).map { try number(name, $0, Int.init) } }
    public func givenDouble(_ name: String) throws -> Double? {
        try givenOption(name).map { try number(name, $0, Double.init) }
    }

    private func number<N>(_ name: String, _ text: String, _ parse: (String) -> N?) throws -> N {
        guard let value = parse(text) else { throw CommandError("\(name)=\(text) is not a \(N.self)") }
        return value
    }
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
        guard var spec = registry[name] else { throw unknown(name, at: head.start) }
        var words = Array(line.tokens.dropFirst())
        // The first word that is not an option selects a form (`load token=<x> embedding F` too).
        if let index = words.firstIndex(where: { $0.kind == .word }), let form = spec.subcommand(words[index].text) {
            spec = form
            words.remove(at: index)
        }

        var options: [String: Value] = [:]
        var positional: [Value] = []
        for token in words {
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
        if case .command = kind, registry[token.text] == nil { throw unknown(token.text, at: token.start) }
        if let why = kind.problem(with: token.text) {
            throw CellError(kind: .usage, message: "\(what): \(why)", position: token.start)
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
