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
    public var defaultValue: String
    public var help: String
    /// A required option must be given (its name says what the value is, e.g. `steps=N`).
    public var isRequired = false

    public init(_ name: String, _ kind: ValueKind, default defaultValue: String, help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
    }

    public static func required(_ name: String, _ kind: ValueKind, help: String) -> OptionSpec {
        var option = OptionSpec(name, kind, default: "", help: help)
        option.isRequired = true
        return option
    }

    /// How help texts describe the default: "(default: X)" or "(required)".
    var defaultNote: String { isRequired ? "(required)" : "(default: \(defaultValue))" }
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
    public var action: Action

    public init(
        _ name: String, summary: String, details: String = "", arguments: [ArgumentSpec] = [],
        options: [OptionSpec] = [], examples: [String] = [], action: @escaping Action
    ) {
        self.name = name
        self.summary = summary
        self.details = details
        self.arguments = arguments
        self.options = options
        self.examples = examples
        self.action = action
    }

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
