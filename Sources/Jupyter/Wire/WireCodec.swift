import Foundation

/// Turns messages into ZeroMQ frames and back:
/// `[identities…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…]`.
public struct WireCodec: Sendable {
    public static let delimiter = Data("<IDS|MSG>".utf8)
    public let signer: Signer
    public let maxMessageBytes: Int
    /// Signatures already accepted (a server's codec has one: replays are refused).
    public let history: DigestHistory?

    /// The largest message accepted; libzmq also refuses any single frame above it.
    public static let defaultMaxMessageBytes = 64 << 20

    public init(signer: Signer, maxMessageBytes: Int = defaultMaxMessageBytes, history: DigestHistory? = nil) {
        self.signer = signer
        self.maxMessageBytes = maxMessageBytes
        self.history = history
    }

    public func encode(_ message: Message) -> [Data] {
        let parts = [
            message.header.json.serialized(), message.parentHeader.serialized(),
            message.metadata.serialized(), message.content.serialized()
        ]
        return message.identities + [Self.delimiter, Data(signer.signature(parts).utf8)] + parts + message.buffers
    }

    /// Decodes and authenticates frames. The signature is checked over the exact bytes received,
    /// before any JSON is parsed, so an unsigned message never reaches a handler.
    public func decode(_ frames: [Data]) throws -> Message {
        guard let split = frames.firstIndex(of: Self.delimiter) else { throw WireError.noDelimiter }
        let rest = frames[(split + 1)...]
        guard rest.count >= 5 else { throw WireError.tooFewFrames(rest.count) }
        let signature = rest[rest.startIndex]
        let parts = Array(rest[(rest.startIndex + 1)...(rest.startIndex + 4)])
        guard signer.verify(signature, parts: parts) else { throw WireError.badSignature }
        if signer.isSigning, let history, !history.insert(signature) { throw WireError.replayed }

        let header: Header
        let headerJSON: JSON
        do {
            headerJSON = try JSON.parse(parts[0])
            header = try Header(json: headerJSON)
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError.badJSON(part: "header", why: String(describing: error))
        }
        var message = Message(
            identities: Array(frames[..<split]), header: header,
            buffers: Array(rest.dropFirst(5)))
        message.receivedHeader = headerJSON
        let total = frames.reduce(0) { $0 + $1.count }
        guard total <= maxMessageBytes else {
            throw WireError.badBody(message, WireError.tooLarge(bytes: total, limit: maxMessageBytes).description)
        }
        // With a readable header the kernel can still answer, so body errors carry the message.
        for (name, index) in [("parent_header", 1), ("metadata", 2), ("content", 3)] {
            let value: JSON
            do { value = try JSON.parse(parts[index]) } catch {
                throw WireError.badBody(message, "the \(name) frame is not valid JSON (\(error))")
            }
            switch index {
            case 1: message.parentHeader = value
            case 2: message.metadata = value
            default: message.content = value
            }
        }
        guard case .object = message.content else {
            throw WireError.badBody(message, "the content is not a JSON object")
        }
        return message
    }
}
