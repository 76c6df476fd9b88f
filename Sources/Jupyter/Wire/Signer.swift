import Crypto
import Foundation

/// HMAC-SHA256 message signing as jupyter_client's `Session` does it: the hex digest over the
/// header, parent header, metadata and content frames, in that order. An empty key disables signing.
public struct Signer: Sendable {
    private let keyBytes: Data?

    public init(key: String) {
        keyBytes = key.isEmpty ? nil : Data(key.utf8)
    }

    private var key: SymmetricKey? { keyBytes.map { SymmetricKey(data: $0) } }

    public var isSigning: Bool { keyBytes != nil }

    public func signature(_ parts: [Data]) -> String {
        guard let key else { return "" }
        var hmac = HMAC<SHA256>(key: key)
        for part in parts { hmac.update(data: part) }
        return Data(hmac.finalize()).map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time comparison, so timing does not reveal how much of a forged signature matched.
    public func verify(_ signature: Data, parts: [Data]) -> Bool {
        guard isSigning else { return true }
        let expected = Data(self.signature(parts).utf8)
        guard signature.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(signature, expected) { difference |= a ^ b }
        return difference == 0
    }
}
