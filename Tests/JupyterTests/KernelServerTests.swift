import CZeroMQ
import Foundation
import Testing

@testable import Jupyter

/// A minimal client: DEALER sockets for shell and control, SUB for iopub.
final class TestClient {
    let context: ZMQContext
    let shell, control, iopub: ZMQSocket
    let codec = WireCodec(signer: Signer(key: "test-key"))
    let factory = MessageFactory()

    init(_ endpoints: [String: String]) throws {
        context = try ZMQContext()
        shell = try ZMQSocket(context, .dealer)
        control = try ZMQSocket(context, .dealer)
        iopub = try ZMQSocket(context, .sub)
        iopub.setOption(ZMQ_SUBSCRIBE, Data())
        try shell.connect(endpoints["shell"]!)
        try control.connect(endpoints["control"]!)
        try iopub.connect(endpoints["iopub"]!)
    }

    deinit {
        for socket in [shell, control, iopub] {
            socket.setOption(ZMQ_LINGER, Int32(0))
            socket.close()
        }
    }

    @discardableResult
    func send(_ type: String, _ content: JSON = [:], on socket: ZMQSocket) throws -> String {
        let message = Message(header: factory.header(type), content: content)
        try socket.send(codec.encode(message))
        return message.header.msgID
    }

    func receive(_ socket: ZMQSocket, timeout: Int = 5000) throws -> Message? {
        guard !ZMQSocket.poll([socket], timeoutMilliseconds: timeout).isEmpty,
            let frames = try socket.receive(dontWait: true)
        else { return nil }
        return try codec.decode(frames)
    }

    /// iopub messages caused by `parent`, up to and including its idle status.
    func outputs(of parent: String) throws -> [Message] {
        var result: [Message] = []
        while let message = try receive(iopub) {
            guard message.parentHeader["msg_id"]?.string == parent else { continue }
            result.append(message)
            if message.msgType == "status" && message.content["execution_state"] == "idle" { break }
        }
        return result
    }
}

/// The ZeroMQ transport: sockets, threads, the abort queue's polling, libzmq's limits, shutdown and
/// binding. The protocol itself is tested without sockets in KernelCoreTests.
@Suite(.serialized) struct KernelServerTests {
    let server: KernelServer
    let client: TestClient

    let exited = Exited()

    final class Exited: @unchecked Sendable {
        let signal = DispatchSemaphore(value: 0)
    }

    init() throws {
        server = try KernelServer(
            connection: ConnectionInfo(key: "test-key"), interpreter: EchoInterpreter(),
            identity: .echo)
        client = try TestClient(server.endpoints)
        server.shutdownGrace = 0.3
        server.exitProcess = { [exited] in exited.signal.signal() }
        let server = self.server
        Thread { server.run() }.start()
        // PUB drops messages until the subscription arrives: wait until kernel_info's status gets through.
        var subscribed = false
        for _ in 0..<100 where !subscribed {
            let id = try client.send("kernel_info_request", on: client.shell)
            _ = try client.receive(client.shell)
            if let status = try client.receive(client.iopub, timeout: 50), status.parentHeader["msg_id"]?.string == id {
                subscribed = true
            }
        }
        while (try? client.receive(client.iopub, timeout: 50)) ?? nil != nil {}
    }

    func stop() throws {
        try client.send("shutdown_request", ["restart": false], on: client.control)
        _ = try client.receive(client.control)
    }

    @Test func executeOrdersBusyInputOutputReplyIdle() throws {
        defer { try? stop() }
        let id = try client.send("execute_request", ["code": "hi", "silent": false], on: client.shell)
        let reply = try #require(try client.receive(client.shell))
        #expect(reply.msgType == "execute_reply")
        #expect(reply.content["status"] == "ok")
        #expect(reply.content["execution_count"] == 1)
        let outputs = try client.outputs(of: id)
        #expect(outputs.map(\.msgType) == ["status", "execute_input", "stream", "status"])
        #expect(outputs.first?.content["execution_state"] == "busy")
    }

    @Test func stopOnErrorAbortsQueuedExecutions() throws {
        defer { try? stop() }
        try client.send("execute_request", ["code": "fail"], on: client.shell)
        try client.send("execute_request", ["code": "x"], on: client.shell)
        try client.send("execute_request", ["code": "y"], on: client.shell)
        let replies = try (0..<3).map { _ in try #require(try client.receive(client.shell)) }
        #expect(replies.map { $0.content["ename"]?.string } == ["Boom", "ExecutionAborted", "ExecutionAborted"])
        #expect(replies.allSatisfy { $0.content["execution_count"] == 1 })
        try client.send("execute_request", ["code": "z"], on: client.shell)
        #expect(try client.receive(client.shell)?.content["status"] == "ok")
    }

    @Test func controlAnswersAndInterruptsWhileShellIsBusy() throws {
        defer { try? stop() }
        try client.send("execute_request", ["code": "block"], on: client.shell)
        Thread.sleep(forTimeInterval: 0.1)
        try client.send("kernel_info_request", on: client.control)
        let info = try #require(try client.receive(client.control, timeout: 2000))
        #expect(info.content["implementation"] == "echo")
        #expect(info.content["protocol_version"] == "5.3")
        try client.send("interrupt_request", on: client.control)
        #expect(try client.receive(client.control)?.msgType == "interrupt_reply")
        #expect(try client.receive(client.shell)?.content["ename"] == "Interrupted")
    }

    @Test func oversizedFramesAreRefusedByLibzmq() throws {
        defer { try? stop() }
        // Larger than the wire limit: libzmq drops it before the kernel sees it. (Were it handed over,
        // the kernel would answer this signed message with a "too large" error reply.)
        let rogue = try TestClient(server.endpoints)
        let huge = JSON.string(String(repeating: "x", count: WireCodec.defaultMaxMessageBytes + 1))
        try rogue.shell.send(
            rogue.codec.encode(Message(header: rogue.factory.header("execute_request"), content: ["code": huge])))
        #expect(try rogue.receive(rogue.shell, timeout: 300) == nil)
        try client.send("kernel_info_request", on: client.shell)
        #expect(try client.receive(client.shell)?.msgType == "kernel_info_reply")
    }

    @Test func shutdownEndsTheProcessEvenIfACommandIgnoresInterrupts() throws {
        try client.send("execute_request", ["code": "hang"], on: client.shell)
        Thread.sleep(forTimeInterval: 0.1)
        try stop()
        // Before: the reply went out and the process kept running.
        #expect(exited.signal.wait(timeout: .now() + 2) == .success)
    }

    @Test func aPortInUseIsAnErrorNotAHang() throws {
        defer { try? stop() }
        let port = Int(server.endpoints["shell"]!.split(separator: ":").last!)!
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: String?
        Thread {
            do {
                _ = try KernelServer(
                    connection: ConnectionInfo(shellPort: port, key: "k"), interpreter: EchoInterpreter(),
                    identity: .echo)
            } catch { failure = String(describing: error) }
            done.signal()
        }.start()
        // Before: the sockets stayed open while the context was terminated, and this never returned.
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(failure?.contains("shell") == true && failure?.contains("\(port)") == true)
    }
}
