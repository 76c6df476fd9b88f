import Foundation

extension StableDiffusionPipeline {
    /// Names the model by content, not by place: the folder's name and a 64-bit hash of its configs,
    /// tokenizer and weight files. Results kept with it (a study's) stay valid when the checkout moves,
    /// and are refused when the weights change. Not cryptographic: it tells models apart, nothing more.
    public func fingerprint() throws -> String {
        let fm = FileManager.default
        guard let walker = fm.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw ModelError("\(folder.path): cannot list the folder")
        }
        let kept: Set<String> = ["json", "safetensors", "txt"]
        var files: [String] = []
        for case let url as URL in walker where kept.contains(url.pathExtension) {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            files.append(String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count)))
        }
        var hash = FNV64()
        for relative in files.sorted() {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: folder.standardizedFileURL.path + relative), options: .alwaysMapped) } catch {
                throw ModelError("\(folder.path)\(relative): cannot read it to fingerprint the model: \(error.localizedDescription)")
            }
            hash.add(Data(relative.utf8))
            hash.add(data)
        }
        return "\(folder.lastPathComponent) \(String(hash.value, radix: 16))"
    }
}

/// FNV-1a over 8-byte words (bytes for the tail): fast enough for gigabytes of weights.
struct FNV64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x100_0000_01b3

    mutating func add(_ data: Data) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let words = raw.count / 8
            for i in 0..<words {
                value = (value ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* Self.prime
            }
            for i in (words * 8)..<raw.count { value = (value ^ UInt64(raw[i])) &* Self.prime }
        }
        // The length too, so that moving bytes between consecutive files changes the hash.
        value = (value ^ UInt64(data.count)) &* Self.prime
    }
}
