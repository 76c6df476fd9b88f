import Foundation

/// What a language plugs into the kernel server, in the spirit of xeus's `xinterpreter`:
/// the server owns sockets, messages, counters and history; the interpreter owns the language.
/// All methods are called on the shell thread, one request at a time.
public protocol KernelInterpreter: AnyObject {
    func execute(_ request: ExecuteRequest, io: ExecutionIO) -> ExecuteOutcome
    func complete(code: String, cursor: Int) -> Completion
    func inspect(code: String, cursor: Int, detailLevel: Int) -> Inspection
    func isComplete(code: String) -> Completeness
}

public struct ExecuteRequest: Sendable {
    public var code: String
    public var silent: Bool
    public var storeHistory: Bool
    public var stopOnError: Bool
    public var allowStdin: Bool
    /// The count this execution is shown with (already incremented when it stores history).
    public var executionCount: Int

    public init(
        code: String, silent: Bool = false, storeHistory: Bool = true, stopOnError: Bool = true,
        allowStdin: Bool = false, executionCount: Int
    ) {
        self.code = code
        self.silent = silent
        self.storeHistory = storeHistory
        self.stopOnError = stopOnError
        self.allowStdin = allowStdin
        self.executionCount = executionCount
    }
}

public enum ExecuteOutcome: Sendable {
    /// Success; outputs and payloads went through the `ExecutionIO`.
    case ok
    case error(ExecutionError)
}

public struct ExecutionError: Error, Sendable, Equatable {
    public var ename: String
    public var evalue: String
    public var traceback: [String]
    public init(ename: String, evalue: String, traceback: [String] = []) {
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback.isEmpty ? ["\(ename): \(evalue)"] : traceback
    }
}

/// Cursor positions count Unicode scalars (code points), as the messaging protocol 5.2+ says.
public struct Completion: Sendable, Equatable {
    public var matches: [String]
    public var cursorStart: Int
    public var cursorEnd: Int
    public init(matches: [String], cursorStart: Int, cursorEnd: Int) {
        self.matches = matches
        self.cursorStart = cursorStart
        self.cursorEnd = cursorEnd
    }
}

public struct Inspection: Sendable, Equatable {
    public var found: Bool
    public var data: [String: String]
    public init(found: Bool, data: [String: String] = [:]) {
        self.found = found
        self.data = data
    }
    public static let notFound = Inspection(found: false)
}

public enum Completeness: String, Sendable {
    case complete, incomplete, invalid, unknown
}

/// Static facts for kernel_info.
public struct KernelIdentity: Sendable {
    public struct LanguageInfo: Sendable {
        public var name, version, mimetype, fileExtension, pygmentsLexer, codemirrorMode: String
        public init(
            name: String, version: String, mimetype: String, fileExtension: String,
            pygmentsLexer: String, codemirrorMode: String
        ) {
            self.name = name
            self.version = version
            self.mimetype = mimetype
            self.fileExtension = fileExtension
            self.pygmentsLexer = pygmentsLexer
            self.codemirrorMode = codemirrorMode
        }
    }
    public var implementation: String
    public var implementationVersion: String
    public var banner: String
    public var helpLinks: [(text: String, url: String)]
    public var language: LanguageInfo

    public init(
        implementation: String, implementationVersion: String, banner: String,
        helpLinks: [(text: String, url: String)], language: LanguageInfo
    ) {
        self.implementation = implementation
        self.implementationVersion = implementationVersion
        self.banner = banner
        self.helpLinks = helpLinks
        self.language = language
    }
}
