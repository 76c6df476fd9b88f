import Foundation
import Testing

@testable import Jupyter

/// A transport in memory: what the core sent and published, in one ordered list, and the shell
/// requests a test has queued behind the one being handled.
final class MemoryTransport: KernelTransport, @unchecked Sendable {
    enum Event: Equatable, CustomStringConvertible {
        case reply(String, KernelChannel)
        case iopub(String)
        var description: String {
            switch self {
            case .reply(let type, let channel): return "\(channel.rawValue):\(type)"
            case .iopub(let type): return type
            }
        }
    }

    private let lock = NSLock()
    private var _events: [Event] = []
    private var _replies: [Message] = []
    private var _published: [Message] = []
    var queued: [[Data]] = []
    private(set) var shutDowns = 0

    var events: [Event] { lock.withLock { _events } }
    var replies: [Message] { lock.withLock { _replies } }
    var published: [Message] { lock.withLock { _published } }

    func send(_ message: Message, on channel: KernelChannel) {
        lock.withLock {
            _events.append(.reply(message.msgType, channel))
            _replies.append(message)
        }
    }

    func publish(_ message: Message) {
        lock.withLock {
            let state = message.content["execution_state"]?.string
            _events.append(.iopub(state.map { "status:\($0)" } ?? message.msgType))
            _published.append(message)
        }
    }

    func flush() {}

    func takeQueuedShellRequests() -> [[Data]] {
        defer { queued = [] }
        return queued
    }

    func shutDown() {
        lock.withLock {
            _events.append(.iopub("(shut down)"))
            shutDowns += 1
        }
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.withLock { _lines } }
    func append(_ line: String) { lock.withLock { _lines.append(line) } }
}

/// The protocol core without sockets: order on the wire, abort-on-error, history, interrupts,
/// authentication and the routing table.
@Suite struct KernelCoreTests {
    let transport = MemoryTransport()
    let client = WireCodec(signer: Signer(key: "k"))
    let factory = MessageFactory()
    let logged = LogLines()
    let core: KernelCore

    init() {
        let logged = self.logged
        core = KernelCore(
            interpreter: EchoInterpreter(), identity: .echo,
            codec: WireCodec(signer: Signer(key: "k"), history: DigestHistory()),
            log: KernelLog(prefix: "echo") { line in logged.append(line) })
        core.attach(transport)
    }

    func frames(_ type: String, _ content: JSON = [:]) -> [Data] {
        client.encode(Message(identities: [Data("peer".utf8)], header: factory.header(type), content: content))
    }

    @discardableResult
    func request(_ type: String, _ content: JSON = [:], on channel: KernelChannel = .shell) -> Message? {
        let before = transport.replies.count
        core.receive(frames(type, content), on: channel)
        return transport.replies.dropFirst(before).first
    }

    @Test func executeOrdersBusyInputOutputReplyIdle() {
        let reply = request("execute_request", ["code": "hi"])
        #expect(reply?.content["status"] == "ok" && reply?.content["execution_count"] == 1)
        #expect(
            transport.events.map(\.description)
                == ["status:busy", "execute_input", "stream", "shell:execute_reply", "status:idle"])
        #expect(transport.published.allSatisfy { $0.parentHeader["msg_type"] == "execute_request" })
        #expect(reply?.identities == [Data("peer".utf8)])
    }

    @Test func errorsArePublishedBeforeTheReply() {
        let reply = request("execute_request", ["code": "fail"])
        #expect(reply?.content["ename"] == "Boom" && reply?.content["status"] == "error")
        #expect(
            transport.events.map(\.description)
                == ["status:busy", "execute_input", "error", "shell:execute_reply", "status:idle"])
    }

    @Test func silentAndNoHistoryDoNotCountNorPublish() {
        #expect(request("execute_request", ["code": "a", "silent": true])?.content["execution_count"] == 0)
        #expect(!transport.events.contains(.iopub("stream")) && !transport.events.contains(.iopub("execute_input")))
        #expect(request("execute_request", ["code": "b", "store_history": false])?.content["execution_count"] == 0)
        #expect(request("execute_request", ["code": "c"])?.content["execution_count"] == 1)
    }

    @Test func aFailedCellAbortsTheQueuedExecutionsAndServesTheRest() {
        transport.queued = [
            frames("execute_request", ["code": "x"]), frames("kernel_info_request"),
            frames("execute_request", ["code": "y"])
        ]
        request("execute_request", ["code": "fail"])
        let replies = transport.replies
        #expect(replies.map(\.msgType) == ["execute_reply", "execute_reply", "kernel_info_reply", "execute_reply"])
        #expect(replies.map { $0.content["ename"]?.string } == ["Boom", "ExecutionAborted", nil, "ExecutionAborted"])
        // Before: a queued non-execute request was decoded twice and dropped as a replay.
        #expect(replies[2].content["status"] == "ok")
        #expect(replies.allSatisfy { $0.msgType == "kernel_info_reply" || $0.content["execution_count"] == 1 })
        #expect(!transport.events.contains(.iopub("stream")), "an aborted cell ran")
    }

    @Test func withoutStopOnErrorTheQueueRuns() {
        transport.queued = [frames("execute_request", ["code": "x"])]
        request("execute_request", ["code": "fail", "stop_on_error": false])
        #expect(transport.replies.count == 1, "the queue was taken")
        core.receive(transport.queued[0], on: .shell)
        #expect(transport.replies.last?.content["status"] == "ok")
    }

    @Test func historyKeepsStoredExecutionsWithTheirCounts() {
        request("execute_request", ["code": "first"])
        request("execute_request", ["code": "quiet", "silent": true])
        request("execute_request", ["code": "second"])
        let reply = request("history_request", ["hist_access_type": "tail", "n": 10, "output": false])
        #expect(reply?.content["history"] == [[1, 1, "first"], [1, 2, "second"]])
    }

    @Test func interruptOnControlStopsTheRunningCell() async throws {
        let core = self.core
        let running = Thread { core.receive(frames("execute_request", ["code": "block"]), on: .shell) }
        running.start()
        while !transport.events.contains(.iopub("execute_input")) { try await Task.sleep(for: .milliseconds(5)) }
        // kernel_info answers on control while the cell runs; then the interrupt lands.
        #expect(request("kernel_info_request", on: .control)?.content["implementation"] == "echo")
        #expect(request("interrupt_request", on: .control)?.msgType == "interrupt_reply")
        for _ in 0..<400 where !transport.replies.contains(where: { $0.msgType == "execute_reply" }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(transport.replies.first { $0.msgType == "execute_reply" }?.content["ename"] == "Interrupted")
        // The next cell starts uninterrupted.
        #expect(request("execute_request", ["code": "next"])?.content["status"] == "ok")
    }

    @Test func eachRequestIsServedOnlyOnItsChannels() {
        let onShell = request("interrupt_request", on: .shell)
        #expect(onShell?.content["ename"] == "UnknownMessageType")
        #expect(onShell?.content["evalue"]?.string?.contains("another channel") == true)
        let onControl = request("execute_request", ["code": "hi"], on: .control)
        #expect(onControl?.content["status"] == "error")
        #expect(!transport.events.contains(.iopub("stream")), "a cell ran on control")
        #expect(request("kernel_info_request", on: .control)?.content["status"] == "ok")
        #expect(request("frobnicate_request")?.content["evalue"] == "echo does not handle frobnicate_request")
        // Messages that are not requests get no reply.
        #expect(request("comm_msg", ["comm_id": "c", "data": [:]]) == nil)
        #expect(logged.lines.contains("[echo] unknown message type frobnicate_request\n"))
    }

    @Test func shutdownRepliesThenStopsTheTransport() {
        let reply = request("shutdown_request", ["restart": true], on: .control)
        #expect(reply?.content["restart"] == true)
        #expect(
            transport.events.map(\.description)
                == ["status:busy", "control:shutdown_reply", "status:idle", "(shut down)"])
    }

    @Test func unsignedReplayedAndMalformedMessages() {
        var forged = frames("execute_request", ["code": "x"])
        forged[2] = Data(String(repeating: "0", count: 64).utf8)
        core.receive(forged, on: .shell)
        #expect(transport.events.isEmpty, "an unsigned message got an answer")

        let once = frames("execute_request", ["code": "once"])
        for _ in 0..<3 { core.receive(once, on: .shell) }
        #expect(transport.replies.count == 1 && transport.replies[0].content["execution_count"] == 1)

        // A signed message with a readable header and a broken body is answered.
        let header = factory.header("kernel_info_request").json.serialized()
        let parts = [header, Data("{}".utf8), Data("{}".utf8), Data("{not json".utf8)]
        core.receive([Data("<IDS|MSG>".utf8), Data(client.signer.signature(parts).utf8)] + parts, on: .shell)
        #expect(transport.replies.last?.content["ename"] == "BadMessage")
    }

    @Test func wrongFieldTypesAreBadRequests() {
        for (field, value) in [
            ("silent", JSON.string("yes")), ("store_history", "no"), ("stop_on_error", 1),
            ("allow_stdin", "true"), ("user_expressions", [1, 2])
        ] {
            var content: [String: JSON] = ["code": "a"]
            content[field] = value
            let reply = request("execute_request", .object(content))
            #expect(reply?.content["ename"] == "BadRequest", "\(field)")
            #expect(reply?.content["evalue"]?.string?.contains(field) == true)
            #expect(reply?.content["execution_count"] == 0)
        }
        #expect(request("execute_request", ["code": "b"])?.content["execution_count"] == 1)
    }
}
