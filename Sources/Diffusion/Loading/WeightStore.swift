import Foundation
import Numerics

/// The tensors of one model, read from its safetensors file(s) as the model asks for them.
/// Every request states the expected shape; `finish()` reports tensors that nothing asked for.
public final class WeightStore {
    private var files: [SafeTensorsFile] = []
    /// Set for a store that makes random weights (benchmarks of architectures without checkpoints).
    private var generator: RandomGenerator?
    private var initialization = RandomInit.fanIn
    private var fanIns: [String: Int] = [:]
    private var location: [String: Int] = [:]
    private var used: Set<String> = []
    /// A prefix that stored names may carry or not (`text_model.` for CLIP text encoders).
    private let optionalPrefix: String
    private let writable: Bool
    /// Stored tensors that are buffers, not weights, and may be present unused.
    private let ignorable: (String) -> Bool
    let folder: URL
    /// Every tensor handed out, in order, by its name (without the optional prefix): the
    /// parameters of the model built from this store, for training and saving.
    public private(set) var handedOut: [(name: String, tensor: Tensor)] = []

    /// Random weights for any architecture, drawn as `initialization` says.
    public init(randomWithSeed seed: UInt64, initialization: RandomInit = .fanIn) {
        folder = URL(fileURLWithPath: "random")
        writable = true
        generator = RandomGenerator(seed: seed)
        self.initialization = initialization
        optionalPrefix = ""
        ignorable = { _ in true }
    }

    /// - Parameter writable: copy tensors out of the (read-only, memory-mapped) files, for training.
    public init(
        folder: URL, names: [String], optionalPrefix: String = "", writable: Bool = false,
        ignorable: @escaping (String) -> Bool = { _ in false }
    ) throws {
        self.folder = folder
        self.writable = writable
        var found: [SafeTensorsFile] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { found.append(try SafeTensorsFile(url)) }
        }
        guard !found.isEmpty else {
            throw ModelError(
                "\(folder.path): no weights (looked for \(names.joined(separator: ", "))); gradti reads safetensors "
                    + "files"
            )
        }
        files = found
        self.optionalPrefix = optionalPrefix
        self.ignorable = ignorable
        for (index, file) in found.enumerated() {
            for name in file.names {
                let key =
                    !optionalPrefix.isEmpty && name.hasPrefix(optionalPrefix)
                    ? String(name.dropFirst(optionalPrefix.count)) : name
                location[key] = index
            }
        }
    }

    /// The tensor `name` (without the optional prefix), which must have `shape`.
    public func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        if var random = generator {
            defer { generator = random }
            let made = initialization.tensor(name, shape, fanIns: &fanIns, using: &random)
            handedOut.append((name, made))
            return made
        }
        guard let index = location[name] else {
            throw ModelError(
                "\(folder.path): missing tensor \(optionalPrefix.isEmpty ? "" : "[\(optionalPrefix)]")\(name) "
                    + "(expected shape \(shape)); does the config match the weights?"
            )
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
        let loaded = writable ? try file.tensor(stored).copy() : try file.tensor(stored)
        // Refused here, by name: loaded, a NaN weight only shows as black images much later.
        let bad = loaded.nonFiniteCount
        guard bad == 0 else {
            throw ModelError(
                "\(file.url.path): tensor \(stored) holds \(bad) NaN or infinite value(s) of \(loaded.count); the "
                    + "weights are damaged: download or convert them again"
            )
        }
        handedOut.append((name, loaded))
        return loaded
    }

    /// Throws if the files hold weights that the architecture has no place for.
    public func finish() throws {
        let surplus = location.keys.filter { !used.contains($0) && !ignorable($0) }.sorted()
        guard surplus.isEmpty else {
            let shown =
                surplus.prefix(5).joined(separator: ", ") + (surplus.count > 5 ? ", … (\(surplus.count) in all)" : "")
            throw ModelError(
                "\(folder.path): tensors the config has no place for: \(shown); does the config match the weights?")
        }
    }
}
