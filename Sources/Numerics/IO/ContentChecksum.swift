import Foundation

/// A 64-bit checksum of a safetensors file's content: its tensors' bytes, names, dtypes, shapes
/// and offsets, and its metadata (all but the checksum itself). gradti's own session files carry
/// one, so a flipped byte anywhere is refused instead of resumed from silently.
///
/// The hash folds 8-byte words as FNV-1a folds bytes: xor, then multiply by an odd constant.
/// Both steps are bijections of the state, so any change to a single word always changes the
/// result; it is a guard against damage, not against forgery.
public enum ContentChecksum {
    public static let key = "gradti.checksum"

    struct Hasher {
        private(set) var state: UInt64 = 0xCBF2_9CE4_8422_2325
        private static let prime: UInt64 = 0x0000_0100_0000_01B3

        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            let words = bytes.count / 8
            for i in 0..<words {
                state = (state ^ bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) &* Self.prime
            }
            for i in (8 * words)..<bytes.count { state = (state ^ UInt64(bytes[i])) &* Self.prime }
            // The length, so moving bytes between parts is seen too.
            state = (state ^ UInt64(bytes.count)) &* Self.prime
        }

        mutating func add(_ text: String) {
            var copy = text
            copy.withUTF8 { add(UnsafeRawBufferPointer($0)) }
        }
    }

    /// The checksum, as 16 hex digits.
    static func compute(entries: [SafeTensorsFile.Entry], metadata: [String: String], data: UnsafeRawBufferPointer) -> String {
        var hasher = Hasher()
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            hasher.add("\(entry.name)\u{0}\(entry.dtype.rawValue)\u{0}\(entry.shape)\u{0}\(entry.begin)\u{0}\(entry.end)")
        }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) where name != key {
            hasher.add("\(name)\u{0}\(value)")
        }
        hasher.add(data)
        return String(format: "%016llx", hasher.state)
    }
}
