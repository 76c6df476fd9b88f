import Foundation
import Numerics

/// The tensors of one model component in its safetensors file(s), handed out by name with the
/// shape the model expects; `ParameterTree.bind` asks for every parameter, then for what is left.
public final class CheckpointFiles {
    private var files: [TensorFile] = []
    private var location: [String: Int] = [:]
    /// The name each tensor is stored under, by the name the model asks for.
    private var storedNames: [String: String] = [:]
    /// A prefix that stored names may carry or not (`text_model.` for CLIP text encoders).
    private let optionalPrefix: String
    private let writable: Bool
    /// Stored tensors that are not weights (buffers such as `embeddings.position_ids`), by name
    /// without the optional prefix: they may be present, and are not loaded.
    private let ignored: Set<String>
    let folder: URL

    /// - Parameter writable: copy tensors out of the (read-only, memory-mapped) files, for training.
    /// - Parameter renaming: today's name of a stored name (old key layouts that diffusers renames on load).
    /// - Parameter variant: `fp16` reads `diffusion_pytorch_model.fp16.safetensors` (diffusers' variants),
    ///   or the plain files when the folder has no such variant.
    public init(
        folder: URL, names: [String], optionalPrefix: String = "", writable: Bool = false,
        ignoring ignored: Set<String> = [], renaming: (String) -> String = { $0 }, variant: String? = nil
    ) throws {
        let names =
            variant.map { variant in
                let named = names.map { Self.variantName($0, variant) }
                return named.contains { Self.exists($0, in: folder) || Self.exists($0 + ".index.json", in: folder) }
                    ? named : names
            } ?? names
        self.folder = folder
        self.writable = writable
        var found: [TensorFile] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            // Safetensors first, as diffusers prefers them; else the PyTorch file of the same weights; each
            // whole, or in shards listed by its `.index.json`.
            let pytorch = folder.appendingPathComponent(Self.pytorchName(name))
            if FileManager.default.fileExists(atPath: url.path) {
                found.append(try TensorFile(url))
            } else if let shards = try Self.shards(of: name, in: folder) {
                found += try shards.map { try TensorFile(folder.appendingPathComponent($0)) }
            } else if FileManager.default.fileExists(atPath: pytorch.path) {
                found.append(try TensorFile(pytorch))
            } else if let shards = try Self.shards(of: Self.pytorchName(name), in: folder) {
                found += try shards.map { try TensorFile(folder.appendingPathComponent($0)) }
            }
        }
        guard !found.isEmpty else {
            throw ModelError(
                "\(folder.path): no weights (looked for \(names.joined(separator: ", ")) and "
                    + "\(names.map(Self.pytorchName).joined(separator: ", "))); gradti reads safetensors files and "
                    + "PyTorch checkpoints"
            )
        }
        files = found
        self.optionalPrefix = optionalPrefix
        self.ignored = ignored
        for (index, file) in found.enumerated() {
            for name in file.names {
                let key = renaming(
                    !optionalPrefix.isEmpty && name.hasPrefix(optionalPrefix)
                        ? String(name.dropFirst(optionalPrefix.count)) : name)
                // Two copies of one tensor (in two shards, or with and without the prefix): which is meant?
                if let earlier = location[key] {
                    let (first, second) = (found[earlier].url.lastPathComponent, file.url.lastPathComponent)
                    throw ModelError(
                        "\(folder.path): tensor \(key) is stored twice (in \(first) and \(second)); keep one")
                }
                location[key] = index
                storedNames[key] = name
            }
        }
    }

    /// The tensor `name` (without the optional prefix), which must have `shape` and finite values.
    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let index = location[name] else {
            throw ModelError(
                "\(folder.path): missing tensor \(optionalPrefix.isEmpty ? "" : "[\(optionalPrefix)]")\(name) "
                    + "(expected shape \(shape)); does the config match the weights?"
            )
        }
        let file = files[index]
        let stored = storedNames[name] ?? name
        let storedShape = try file.shape(stored)
        guard storedShape == shape else {
            throw ModelError("\(file.url.path): tensor \(stored) has shape \(storedShape), the config implies \(shape)")
        }
        let type = try file.elementType(stored)
        guard type.isFloatingPoint else {
            throw ModelError("\(file.url.path): tensor \(stored) holds \(type.name) integers, not weights")
        }
        let loaded = writable ? try file.tensor(stored).copy() : try file.tensor(stored)
        // Refused here, by name: loaded, a NaN weight only shows as black images much later.
        let bad = loaded.nonFiniteCount
        guard bad == 0 else {
            throw ModelError(
                "\(file.url.path): tensor \(stored) holds \(bad) NaN or infinite value(s) of \(loaded.count); the "
                    + "weights are damaged: download or convert them again"
            )
        }
        return loaded
    }

    /// The PyTorch file that holds the same weights as safetensors file `name`, as diffusers and transformers
    /// name them (`diffusion_pytorch_model.bin`, `pytorch_model.bin`, `…fp16.bin`).
    static func pytorchName(_ name: String) -> String {
        let stem = (name as NSString).deletingPathExtension
        return (stem == "model" || stem.hasPrefix("model.") ? "pytorch_" : "") + stem + ".bin"
    }

    /// The shard files of weights `name` that `name.index.json` lists (its `weight_map`'s values, in order),
    /// nil without an index.
    static func shards(of name: String, in folder: URL) throws -> [String]? {
        let index = folder.appendingPathComponent(name + ".index.json")
        guard FileManager.default.fileExists(atPath: index.path) else { return nil }
        let data = try FileAccess.read(index, limit: 64 << 20)
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let map = json["weight_map"] as? [String: String], !map.isEmpty
        else { throw ModelError("\(index.path) is not an index of shards (no \"weight_map\" of tensor → file)") }
        var files: [String] = []
        for file in map.values.sorted() where !files.contains(file) {
            guard !file.contains("/"), FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path)
            else { throw ModelError("\(index.path) lists the shard \(file), which is not in the folder") }
            files.append(file)
        }
        return files
    }

    /// `diffusion_pytorch_model.safetensors` of variant `fp16`: `diffusion_pytorch_model.fp16.safetensors`.
    static func variantName(_ name: String, _ variant: String) -> String {
        let ns = name as NSString
        return ns.deletingPathExtension + "." + variant + "." + ns.pathExtension
    }

    /// Whether the weights `name` (or their PyTorch twin) are in `folder`.
    static func exists(_ name: String, in folder: URL) -> Bool {
        [name, pytorchName(name)].contains {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Throws if the files hold tensors that are neither among `used` nor ignored: weights the
    /// architecture has no place for.
    func requireNoSurplus(beyond used: Set<String>) throws {
        let surplus = location.keys.filter { !used.contains($0) && !ignored.contains($0) }.sorted()
        guard surplus.isEmpty else {
            let shown =
                surplus.prefix(5).joined(separator: ", ") + (surplus.count > 5 ? ", … (\(surplus.count) in all)" : "")
            throw ModelError(
                "\(folder.path): tensors the config has no place for: \(shown); does the config match the weights?")
        }
    }
}
