import Foundation

/// A 64-bit checksum of a safetensors file's content: its tensors' bytes, names, dtypes, shapes
/// and offsets, and its metadata (all but the checksum itself). gradti's own session files carry
/// one, so a flipped byte anywhere is refused instead of resumed from silently.
///
/// The hash is `FNV64`, which any change to a single word changes: a guard against damage, not
/// against forgery.
public enum ContentChecksum {
    public static let key = "gradti.checksum"

    /// The checksum, as 16 hex digits.
    static func compute(entries: [SafeTensorsFile.Entry], metadata: [String: String], data: UnsafeRawBufferPointer)
        -> String
    {
        var hasher = FNV64()
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            hasher.add(
                "\(entry.name)\u{0}\(entry.dtype.rawValue)\u{0}\(entry.shape)\u{0}\(entry.begin)\u{0}\(entry.end)")
        }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) where name != key {
            hasher.add("\(name)\u{0}\(value)")
        }
        hasher.add(data)
        return String(format: "%016llx", hasher.value)
    }
}
