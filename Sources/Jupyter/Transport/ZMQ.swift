import CZeroMQ
import Foundation

public struct ZMQError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32
    public init(_ operation: String, code: Int32 = zmq_errno()) {
        self.operation = operation
        self.code = code
    }
    public var description: String { "\(operation): \(String(cString: zmq_strerror(code)))" }
}

/// One libzmq context per kernel process.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
        self.handle = handle
    }

    /// Makes blocking calls on every socket return ETERM, so threads blocked in receive can exit.
    public func shutdown() { zmq_ctx_shutdown(handle) }

    deinit { zmq_ctx_term(handle) }
}

/// A thin, owning wrapper of a libzmq socket. Not thread-safe: each socket lives on one thread.
public final class ZMQSocket: @unchecked Sendable {
    public enum Kind {
        case router, pub, rep, req, dealer, sub
        var raw: Int32 {
            switch self {
            case .router: return ZMQ_ROUTER
            case .pub: return ZMQ_PUB
            case .rep: return ZMQ_REP
            case .req: return ZMQ_REQ
            case .dealer: return ZMQ_DEALER
            case .sub: return ZMQ_SUB
            }
        }
    }

    let handle: UnsafeMutableRawPointer
    private var closed = false

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let handle = zmq_socket(context.handle, kind.raw) else { throw ZMQError("zmq_socket") }
        self.handle = handle
        // Close promptly on shutdown instead of waiting forever for unsent messages.
        setOption(ZMQ_LINGER, Int32(1000))
    }

    /// Closes the socket; call it on the thread that owns the socket. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    deinit { close() }

    public func setOption(_ option: Int32, _ value: Int32) {
        var v = value
        zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size)
    }

    public func setOption(_ option: Int32, _ value: Int64) {
        var v = value
        zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size)
    }

    public func setOption(_ option: Int32, _ value: Data) {
        value.withUnsafeBytes { _ = zmq_setsockopt(handle, option, $0.baseAddress, value.count) }
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError("connect \(endpoint)") }
    }

    /// The endpoint actually bound (resolves port 0 to the port the system chose).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func send(_ frames: [Data]) throws {
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
            if rc < 0 {
                // EINTR (a signal) interrupts a blocking send; retry the frame once more.
                if zmq_errno() == EINTR {
                    let again = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, frame.count, flags) }
                    if again >= 0 { continue }
                }
                throw ZMQError("zmq_send")
            }
        }
    }

    /// Receives one multipart message, or nil when `dontWait` is set and nothing is queued.
    public func receive(dontWait: Bool = false) throws -> [Data]? {
        var frames: [Data] = []
        var more: Int32 = 1
        while more != 0 {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            let flags = dontWait && frames.isEmpty ? ZMQ_DONTWAIT : 0
            var rc = zmq_msg_recv(&msg, handle, flags)
            while rc < 0 && zmq_errno() == EINTR { rc = zmq_msg_recv(&msg, handle, flags) }
            if rc < 0 {
                if zmq_errno() == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError("zmq_msg_recv")
            }
            frames.append(Data(bytes: zmq_msg_data(&msg), count: zmq_msg_size(&msg)))
            more = zmq_msg_more(&msg)
        }
        return frames
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for any of the sockets to become readable;
    /// returns their indices.
    public static func poll(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) -> [Int] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let rc = zmq_poll(&items, Int32(items.count), timeoutMilliseconds)
        guard rc > 0 else { return [] }
        return items.indices.filter { items[$0].revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
