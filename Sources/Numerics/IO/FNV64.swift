import Foundation

/// FNV-1a over 8-byte words (bytes for the tail), and each part's length: fast enough for gigabytes
/// of weights. Xor and multiplication by an odd constant are both bijections of the state, so a
/// change to any single word always changes the result. Not cryptographic: it tells contents apart.
public struct FNV64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x100_0000_01b3

    public init() {}

    public mutating func add(_ raw: UnsafeRawBufferPointer) {
        let words = raw.count / 8
        for i in 0..<words {
            value = (value ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* Self.prime
        }
        for i in (words * 8)..<raw.count { value = (value ^ UInt64(raw[i])) &* Self.prime }
        // The length too, so that moving bytes between consecutive parts changes the hash.
        value = (value ^ UInt64(raw.count)) &* Self.prime
    }

    public mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }

    public mutating func add(_ text: String) {
        var copy = text
        copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }
}
