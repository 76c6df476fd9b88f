import Foundation
import Jupyter

/// gradti's language for the kernel server: parses a cell against the registry and runs its commands.
public final class GradtiInterpreter: KernelInterpreter {
    public private(set) var registry: CommandRegistry
    public let workspace = Workspace()
    /// Placeholder tokens offered by completion inside prompts (the session's, unless set).
    public var placeholders: () -> [String]

    public init(extraCommands: [CommandSpec] = []) {
        registry = CommandRegistry(
            Builtins.all + SessionCommands.all + EvaluationCommands.all + [StudyCommand.study] + extraCommands)
        let workspace = self.workspace
        placeholders = { workspace.session?.concept?.tokens ?? [] }
    }

    public static let identity = KernelIdentity(
        implementation: "gradti", implementationVersion: Gradti.version, banner: Gradti.banner,
        helpLinks: [(text: "gradti commands", url: "https://github.com/gradti/gradti#commands")],
        language: .init(
            name: "gradti", version: Gradti.version, mimetype: "text/x-gradti", fileExtension: ".gradti",
            pygmentsLexer: "bash", codemirrorMode: "shell"))

    private var completer: Completer { Completer(registry: registry, placeholders: placeholders) }

    public func execute(_ request: ExecuteRequest, io: ExecutionIO) -> ExecuteOutcome {
        let lines: [ParsedLine]
        do { lines = try Parser(registry: registry).parse(request.code) } catch {
            return .error(
                ExecutionError(
                    ename: error.kind.rawValue,
                    evalue: "line \(error.position.line), column \(error.position.column): \(error.message)",
                    traceback: Self.traceback(error.kind.rawValue, error.message, at: error.position, in: request.code))
            )
        }
        let context = CommandContext(io: io, registry: registry, workspace: workspace)
        for line in lines {
            switch line {
            case .helpPage(let spec, _):
                io.page(["text/plain": .string(HelpText.plain(spec))])
            case .command(let call):
                do {
                    try call.spec.action(call, context)
                } catch is Interrupted {
                    let why = "`\(call.spec.name)` on line \(call.line) was interrupted; everything before it is intact"
                    return .error(ExecutionError(ename: "Interrupted", evalue: why))
                } catch {
                    let message = String(describing: error)
                    return .error(
                        ExecutionError(
                            ename: "CommandError", evalue: "line \(call.line): \(message)",
                            traceback: Self.traceback(
                                "CommandError", message, at: call.nameToken.start, in: request.code,
                                showColumn: false)))
                }
            }
        }
        return .ok
    }

    public func complete(code: String, cursor: Int) -> Completion { completer.complete(code: code, cursor: cursor) }

    public func inspect(code: String, cursor: Int, detailLevel: Int) -> Inspection {
        completer.inspect(code: code, cursor: cursor)
    }

    public func isComplete(code: String) -> Completeness {
        do {
            _ = try Parser(registry: registry).parse(code)
            return .complete
        } catch {
            return error.unfinished ? .incomplete : .invalid
        }
    }

    /// The error, then the offending line with a caret under the place, as front ends show tracebacks.
    /// Syntax and usage errors point at a column; a command's failure points at its line.
    static func traceback(
        _ ename: String, _ message: String, at position: SourcePosition, in code: String,
        showColumn: Bool = true
    ) -> [String] {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false)
        let place = showColumn ? "line \(position.line), column \(position.column)" : "line \(position.line)"
        var out = ["\u{1B}[0;31m\(ename)\u{1B}[0m: \(place): \(message)"]
        if position.line - 1 < lines.count {
            let number = "\(position.line)"
            out.append("  \(number) | \(lines[position.line - 1])")
            out.append(
                "  " + String(repeating: " ", count: number.count) + " | "
                    + String(repeating: " ", count: max(position.column - 1, 0)) + "^")
        }
        return [out.joined(separator: "\n")]
    }
}
