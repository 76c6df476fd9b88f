import Foundation

@testable import Jupyter

/// A language for testing the server alone: echoes code, fails on "fail", waits on "block"
/// until interrupted.
final class EchoInterpreter: KernelInterpreter {
    func execute(_ request: ExecuteRequest, io: ExecutionIO) -> ExecuteOutcome {
        switch request.code {
        case "fail": return .error(ExecutionError(ename: "Boom", evalue: "failed on purpose"))
        case "block":
            while !io.cancellation.isCancelled { Thread.sleep(forTimeInterval: 0.01) }
            return .error(ExecutionError(ename: "Interrupted", evalue: "stopped"))
        case "hang":
            // A command that never polls for interrupts (bounded, so the test process ends).
            Thread.sleep(forTimeInterval: 3)
            return .ok
        default:
            io.stream(request.code)
            return .ok
        }
    }
    func complete(code: String, cursor: Int) -> Completion {
        Completion(matches: [], cursorStart: cursor, cursorEnd: cursor)
    }
    func inspect(code: String, cursor: Int, detailLevel: Int) -> Inspection { .notFound }
    func isComplete(code: String) -> Completeness { .complete }
}

extension KernelIdentity {
    static let echo = KernelIdentity(
        implementation: "echo", implementationVersion: "1", banner: "", helpLinks: [],
        language: .init(
            name: "echo", version: "1", mimetype: "text/plain", fileExtension: ".txt",
            pygmentsLexer: "text", codemirrorMode: "null"))
}
