import Foundation
import Numerics

/// The tensors of one model, read from its safetensors file(s) as the model asks for them.
/// Every request states the expected shape; `finish()` reports tensors that nothing asked for.
public final class WeightStore {
    private let files: [SafeTensorsFile]
    private var location: [String: Int] = [:]
    private var used: Set<String> = []
    /// A prefix that stored names may carry or not (`text_model.` for CLIP text encoders).
    private let optionalPrefix: String
    /// Stored tensors that are buffers, not weights, and may be present unused.
    private let ignorable: (String) -> Bool
    let folder: URL

    public init(folder: URL, names: [String], optionalPrefix: String = "", ignorable: @escaping (String) -> Bool = { _ in false }) throws {
        self.folder = folder
        var found: [SafeTensorsFile] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { found.append(try SafeTensorsFile(url)) }
        }
        guard !found.isEmpty else {
            throw ModelError("\(folder.path): no weights (looked for \(names.joined(separator: ", "))); gradti reads safetensors files")
        }
        files = found
        self.optionalPrefix = optionalPrefix
        self.ignorable = ignorable
        for (index, file) in found.enumerated() {
            for name in file.names {
                let key = !optionalPrefix.isEmpty && name.hasPrefix(optionalPrefix) ? String(name.dropFirst(optionalPrefix.count)) : name
                location[key] = index
            }
        }
    }

    /// The tensor `name` (without the optional prefix), which must have `shape`.
    public func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let index = location[name] else {
            throw ModelError("\(folder.path): missing tensor \(optionalPrefix.isEmpty ? "" : "[\(optionalPrefix)]")\(name) (expected shape \(shape)); does the config match the weights?")
        }
        let file = files[index]
        let stored = file.names.contains(name) ? name : optionalPrefix + name
        let entry = try file.entry(stored)
        guard entry.shape == shape else {
            throw ModelError("\(file.url.path): tensor \(stored) has shape \(entry.shape), the config implies \(shape)")
        }
        guard entry.dtype.isFloatingPoint else {
            throw ModelError("\(file.url.path): tensor \(stored) holds \(entry.dtype.rawValue) integers, not weights")
        }
        used.insert(name)
        return try file.tensor(stored)
    }

    /// Throws if the files hold weights that the architecture has no place for.
    public func finish() throws {
        let surplus = location.keys.filter { !used.contains($0) && !ignorable($0) }.sorted()
        guard surplus.isEmpty else {
            let shown = surplus.prefix(5).joined(separator: ", ") + (surplus.count > 5 ? ", … (\(surplus.count) in all)" : "")
            throw ModelError("\(folder.path): tensors the config has no place for: \(shown); does the config match the weights?")
        }
    }
}
