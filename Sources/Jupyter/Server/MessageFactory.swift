import Foundation

/// Builds the kernel's outgoing messages: fresh ids, this kernel's session, ISO 8601 dates.
public struct MessageFactory: Sendable {
    public static let protocolVersion = "5.3"
    public let session: String

    public init(session: String = UUID().uuidString.lowercased()) {
        self.session = session
    }

    public func header(_ msgType: String) -> Header {
        Header(
            msgID: UUID().uuidString.lowercased(), session: session, username: "kernel",
            date: Self.timestamp(), msgType: msgType, version: Self.protocolVersion)
    }

    /// A reply on the socket the request came in on: same identities, the request as parent.
    public func reply(to request: Message, content: JSON, metadata: JSON = [:]) -> Message {
        let type =
            request.msgType.hasSuffix("_request")
            ? String(request.msgType.dropLast("_request".count)) + "_reply" : request.msgType + "_reply"
        return Message(
            identities: request.identities, header: header(type), parentHeader: request.headerJSON,
            metadata: metadata, content: content)
    }

    /// A broadcast on iopub, addressed by a topic frame.
    public func broadcast(_ msgType: String, content: JSON, parent: Message?) -> Message {
        Message(
            identities: [Data("kernel.\(session).\(msgType)".utf8)], header: header(msgType),
            parentHeader: parent?.headerJSON ?? [:], content: content)
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = now.tv_sec
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1,
            parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, Int(now.tv_nsec / 1000))
    }
}
