import Foundation

/// The connection file that a Jupyter client writes and passes to the kernel.
public struct ConnectionInfo: Sendable, Equatable {
    public var transport: String
    public var ip: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int
    public var key: String
    public var signatureScheme: String

    public init(transport: String = "tcp", ip: String = "127.0.0.1", shellPort: Int = 0, iopubPort: Int = 0,
                stdinPort: Int = 0, controlPort: Int = 0, hbPort: Int = 0, key: String = "",
                signatureScheme: String = "hmac-sha256") {
        self.transport = transport
        self.ip = ip
        self.shellPort = shellPort
        self.iopubPort = iopubPort
        self.stdinPort = stdinPort
        self.controlPort = controlPort
        self.hbPort = hbPort
        self.key = key
        self.signatureScheme = signatureScheme
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConnectionError("cannot read connection file \(url.path): \(error.localizedDescription)")
        }
        let json: JSON
        do { json = try JSON.parse(data) } catch {
            throw ConnectionError("connection file \(url.path) is not valid JSON: \(error)")
        }
        func port(_ name: String) throws -> Int {
            guard let value = json[name]?.int, (0...65535).contains(value) else {
                throw ConnectionError("connection file \(url.path): \(name) must be a port number")
            }
            return value
        }
        transport = json["transport"]?.string ?? "tcp"
        ip = json["ip"]?.string ?? "127.0.0.1"
        shellPort = try port("shell_port")
        iopubPort = try port("iopub_port")
        stdinPort = try port("stdin_port")
        controlPort = try port("control_port")
        hbPort = try port("hb_port")
        key = json["key"]?.string ?? ""
        signatureScheme = json["signature_scheme"]?.string ?? "hmac-sha256"
        guard key.isEmpty || signatureScheme == "hmac-sha256" else {
            throw ConnectionError("signature_scheme \(signatureScheme) is not supported; use hmac-sha256")
        }
    }

    public func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

public struct ConnectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
