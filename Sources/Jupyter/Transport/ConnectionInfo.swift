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

    public init(
        transport: String = "tcp", ip: String = "127.0.0.1", shellPort: Int = 0, iopubPort: Int = 0,
        stdinPort: Int = 0, controlPort: Int = 0, hbPort: Int = 0, key: String = "",
        signatureScheme: String = "hmac-sha256"
    ) {
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
        do { data = try Self.readRegularFile(url) } catch let error as ConnectionError { throw error } catch {
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
        func text(_ name: String, default fallback: String) throws -> String {
            guard let value = json[name], value != .null else { return fallback }
            guard let string = value.string else {
                throw ConnectionError("connection file \(url.path): \(name) must be a string")
            }
            return string
        }
        transport = try text("transport", default: "tcp")
        guard ["tcp", "ipc"].contains(transport) else {
            throw ConnectionError(
                "connection file \(url.path): transport \"\(transport)\" is not supported (tcp or ipc)")
        }
        ip = try text("ip", default: "127.0.0.1")
        guard !ip.isEmpty else { throw ConnectionError("connection file \(url.path): ip is empty") }
        shellPort = try port("shell_port")
        iopubPort = try port("iopub_port")
        stdinPort = try port("stdin_port")
        controlPort = try port("control_port")
        hbPort = try port("hb_port")
        // Only a string is a key: taking 12345, null or a list as "no key" would turn signing off.
        // An absent key is the empty key, as jupyter_client reads it (the caller warns).
        let keyValue = json["key"] ?? .string("")
        guard let keyText = keyValue.string else {
            throw ConnectionError("connection file \(url.path): key must be a string, found \(keyValue.text)")
        }
        key = keyText
        signatureScheme = try text("signature_scheme", default: "hmac-sha256")
        guard key.isEmpty || signatureScheme == "hmac-sha256" else {
            throw ConnectionError("signature_scheme \(signatureScheme) is not supported; use hmac-sha256")
        }
    }

    /// Reads only a regular file: a FIFO given as the connection file must not block the start.
    private static func readRegularFile(_ url: URL) throws -> Data {
        let fd = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConnectionError("cannot read connection file \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw ConnectionError("connection file \(url.path) is not a regular file")
        }
        guard info.st_size <= 1 << 20 else {
            throw ConnectionError("connection file \(url.path) is larger than 1 MiB; is it the right file?")
        }
        return FileManager.default.contents(atPath: url.path) ?? Data()
    }

    /// Whether messages are signed (an empty key turns signing off, as the protocol allows).
    public var isSigned: Bool { !key.isEmpty }

    public func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

public struct ConnectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
