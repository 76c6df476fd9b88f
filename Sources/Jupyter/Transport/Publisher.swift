import Foundation

/// Owns the iopub PUB socket on a thread of its own. Any thread may publish; `flush` returns once
/// everything published before it has been handed to ZeroMQ, so a handler can flush before it
/// replies and clients see all outputs of a request before its reply.
public final class Publisher: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [Message] = []
    private var sent = 0
    private var enqueued = 0
    private var stopping = false
    private var finished = false
    private let codec: WireCodec
    private let socket: ZMQSocket
    private let log: KernelLog

    init(socket: ZMQSocket, codec: WireCodec, log: KernelLog) {
        self.socket = socket
        self.codec = codec
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "iopub"
        thread.start()
    }

    public func publish(_ message: Message) {
        condition.lock()
        queue.append(message)
        enqueued += 1
        condition.broadcast()
        condition.unlock()
    }

    public func flush() {
        condition.lock()
        let target = enqueued
        while sent < target && !finished { condition.wait() }
        condition.unlock()
    }

    /// Sends what is queued, closes the socket and ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { break }
            for message in batch {
                do { try socket.send(codec.encode(message)) } catch {
                    log("iopub: could not publish \(message.msgType): \(error)")
                }
            }
            condition.lock()
            sent += batch.count
            condition.broadcast()
            condition.unlock()
        }
        socket.close()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
