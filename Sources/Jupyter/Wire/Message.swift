import Foundation

/// The header of a Jupyter message (messaging protocol 5.x).
public struct Header: Equatable, Sendable {
    public var msgID: String
    public var session: String
    public var username: String
    public var date: String
    public var msgType: String
    public var version: String

    public init(msgID: String, session: String, username: String, date: String, msgType: String, version: String) {
        self.msgID = msgID
        self.session = session
        self.username = username
        self.date = date
        self.msgType = msgType
        self.version = version
    }

    /// Reads a header; only `msg_id` and `msg_type` are required, as clients differ in the rest.
    public init(json: JSON) throws {
        guard case .object = json else { throw WireError.badHeader("the header is not a JSON object") }
        guard let id = json["msg_id"]?.string else { throw WireError.badHeader("the header has no string msg_id") }
        guard let type = json["msg_type"]?.string, !type.isEmpty else {
            throw WireError.badHeader("the header has no string msg_type")
        }
        msgID = id
        msgType = type
        session = json["session"]?.string ?? ""
        username = json["username"]?.string ?? ""
        date = json["date"]?.string ?? ""
        version = json["version"]?.string ?? ""
    }

    public var json: JSON {
        [
            "msg_id": .string(msgID), "session": .string(session), "username": .string(username),
            "date": .string(date), "msg_type": .string(msgType), "version": .string(version)
        ]
    }
}

/// A message as it travels: routing identities, the four signed parts and any binary buffers.
public struct Message: Sendable {
    public var identities: [Data]
    public var header: Header
    /// The parent header exactly as received (or `{}`), so replies echo what the client sent.
    public var parentHeader: JSON
    public var metadata: JSON
    public var content: JSON
    public var buffers: [Data]
    /// The header exactly as received, echoed as the parent header of everything this message causes.
    public var receivedHeader: JSON?

    public init(
        identities: [Data] = [], header: Header, parentHeader: JSON = [:], metadata: JSON = [:],
        content: JSON = [:], buffers: [Data] = []
    ) {
        self.identities = identities
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
    }

    public var msgType: String { header.msgType }
    public var headerJSON: JSON { receivedHeader ?? header.json }
}

public enum WireError: Error, CustomStringConvertible {
    case noDelimiter
    case tooFewFrames(Int)
    case badSignature
    /// A correctly signed message whose signature was seen before.
    case replayed
    case badHeader(String)
    case badJSON(part: String, why: String)
    case tooLarge(bytes: Int, limit: Int)
    /// The header was readable but another part was not: the kernel can answer this one.
    case badBody(Message, String)

    public var description: String {
        switch self {
        case .noDelimiter: return "no <IDS|MSG> delimiter frame"
        case .tooFewFrames(let n): return "expected at least 5 frames after <IDS|MSG>, got \(n)"
        case .badSignature: return "wrong or missing HMAC signature"
        case .replayed: return "a replayed message (its signature was already used)"
        case .badHeader(let why): return why
        case .badJSON(let part, let why): return "the \(part) frame is not valid JSON (\(why))"
        case .tooLarge(let bytes, let limit): return "message of \(bytes) bytes exceeds the \(limit)-byte limit"
        case .badBody(let message, let why): return "\(message.msgType) \(message.header.msgID): \(why)"
        }
    }
}
