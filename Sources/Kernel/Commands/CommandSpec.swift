import Foundation
import Jupyter

/// What a value of an argument or option may be. The kind drives validation, help and completion.
public enum ValueKind: Sendable, Equatable {
    case text
    case path(extensions: [String])
    case integer(ClosedRange<Int>)
    case number(ClosedRange<Double>)
    case choice([String])
    case command
    /// A literal word that must appear here (`from` in `concept NAME from PATH...`).
    case keyword(String)

    /// Why `text` is not a value of this kind, or nil when it is. (`command` values are checked
    /// against the registry by the parser.)
    func problem(with text: String) -> String? {
        switch self {
        case .text, .path, .command: return nil
        case .integer(let range):
            guard let value = Int(text) else { return "`\(text)` is not a whole number" }
            return range.contains(value) ? nil : "\(value) is outside \(range.lowerBound)...\(range.upperBound)"
        case .number(let range):
            guard let value = Double(text), value.isFinite else { return "`\(text)` is not a number" }
            return range.contains(value) ? nil : "\(text) is outside \(range.lowerBound)...\(range.upperBound)"
        case .choice(let choices):
            guard !choices.contains(text) else { return nil }
            var why = "`\(text)` is not one of " + choices.map { "`\($0)`" }.joined(separator: ", ")
            if let near = nearest(text, among: choices) { why += "; did you mean `\(near)`?" }
            return why
        case .keyword(let word):
            return text == word ? nil : "expected the word `\(word)` here, found `\(text)`"
        }
    }

    var placeholder: String {
        switch self {
        case .text: return "TEXT"
        case .path: return "PATH"
        case .integer: return "N"
        case .number: return "X"
        case .choice(let options): return options.joined(separator: "|")
        case .command: return "COMMAND"
        case .keyword(let word): return word
        }
    }
}

public struct ArgumentSpec: Sendable {
    public enum Count: Sendable { case one, optional, oneOrMore, any }
    public var name: String
    public var kind: ValueKind
    public var count: Count
    public var help: String

    public init(_ name: String, _ kind: ValueKind, count: Count = .one, help: String) {
        self.name = name
        self.kind = kind
        self.count = count
        self.help = help
    }

    var usage: String {
        switch count {
        case .one: return name
        case .optional: return "[\(name)]"
        case .oneOrMore: return "\(name)..."
        case .any: return "[\(name)...]"
        }
    }
}

public struct OptionSpec: Sendable {
    public var name: String
    public var kind: ValueKind
    /// The value a command gets when the option is not given, written as a user would write it
    /// (it must pass `kind`'s check, which the registry's tests verify); nil when leaving the option
    /// out means something that is not a value, which `note` says.
    public var defaultValue: String?
    /// For help: what leaving the option out means when that is not (only) `defaultValue`
    /// ("unchanged (initially 8)", "the file's own").
    public var note: String?
    public var help: String
    /// A required option must be given (its name says what the value is, e.g. `steps=N`).
    public var isRequired = false

    public init(
        _ name: String, _ kind: ValueKind, default defaultValue: String? = nil, note: String? = nil, help: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.note = note
        self.help = help
    }

    public static func required(_ name: String, _ kind: ValueKind, help: String) -> OptionSpec {
        var option = OptionSpec(name, kind, help: help)
        option.isRequired = true
        return option
    }

    /// How help describes leaving the option out: "(required)", "(default: 8)", "(default: unchanged)".
    var defaultNote: String {
        if isRequired { return "(required)" }
        switch (defaultValue, note) {
        case (let value?, let note?): return "(default: \(value), \(note))"
        case (let value?, nil): return "(default: \(value.isEmpty ? "none" : value))"
        case (nil, let note?): return "(default: \(note))"
        case (nil, nil): return "(optional)"
        }
    }
}

/// One command of the cell language: the single description that parsing, `help`, completion
/// and inspect all read.
public struct CommandSpec: Sendable {
    public typealias Action = @Sendable (Invocation, CommandContext) throws -> Void

    public var name: String
    public var summary: String
    public var details: String
    public var arguments: [ArgumentSpec]
    public var options: [OptionSpec]
    public var examples: [String]
    /// Forms selected by a first word (`load session FILE`), each a full spec of its own named
    /// `"load session"`, so parsing, help, completion and inspect treat it as a command. A first
    /// word that names none is the parent's own first argument.
    public private(set) var subcommands: [CommandSpec]
    public var action: Action

    public init(
        _ name: String, summary: String, details: String = "", arguments: [ArgumentSpec] = [],
        options: [OptionSpec] = [], examples: [String] = [], subcommands: [CommandSpec] = [],
        action: @escaping Action
    ) {
        self.name = name
        self.summary = summary
        self.details = details
        self.arguments = arguments
        self.options = options
        self.examples = examples
        self.subcommands = subcommands.map { form in
            var form = form
            form.name = "\(name) \(form.name)"
            return form
        }
        self.action = action
    }

    /// The word that selects this spec after its parent's name (`session` in `load session`).
    public var word: String { String(name.split(separator: " ").last ?? Substring(name)) }

    /// The form that `word` selects, if any.
    public func subcommand(_ word: String) -> CommandSpec? { subcommands.first { $0.word == word } }

    public var usage: String {
        ([name] + arguments.map(\.usage)
            + options.map {
                $0.isRequired ? "\($0.name)=\($0.kind.placeholder)" : "[\($0.name)=\($0.kind.placeholder)]"
            })
            .joined(separator: " ")
    }

    public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }

    /// The argument that the positional word at `index` fills.
    public func argument(at index: Int) -> ArgumentSpec? {
        var position = 0
        for argument in arguments {
            switch argument.count {
            case .one, .optional:
                if position == index { return argument }
                position += 1
            case .oneOrMore, .any:
                return argument
            }
        }
        return nil
    }
}
