import Foundation
import Numerics

/// Learned embeddings in the files other tools exchange: one safetensors key `<token>` holding a
/// float32 [N, D] tensor (diffusers' `load_textual_inversion`, AUTOMATIC1111, kohya, InvokeAI);
/// also kohya's `emb_params` key and SDXL-style `clip_l` / `clip_g` keys.
public enum EmbeddingFile {
    /// The most vectors an embedding may have: a 77-token prompt holds 75 besides its start and
    /// end tokens (AUTOMATIC1111 allows as many).
    public static let maxVectors = 75

    public static func write(token: String, vectors: Tensor, to url: URL) throws {
        // Written atomically (a temporary file renamed into place), so an interrupted save never
        // leaves half a file under the real name.
        try SafeTensors.write([(token, .float(vectors.detached(), .f32))], to: url)
    }

    /// Reads vectors of width `width`; returns the token the file names (if any) and [N, width]. Safetensors
    /// files, and PyTorch checkpoints (told apart by their bytes): diffusers' `learned_embeds.bin`
    /// (`{"<token>": [D]}`), A1111's `.pt` (`string_to_param`, its `name`), kohya's `emb_params`.
    public static func read(_ url: URL, width: Int) throws -> (token: String?, vectors: Tensor) {
        let file: TensorFile
        do { file = try TensorFile(url) } catch { throw InversionError(String(describing: error)) }
        let path = displayPath(url)
        func vectors(_ name: String) throws -> Tensor {
            // The shape is checked before any value is read, so a huge tensor is refused at once.
            let shape = try file.shape(name)
            guard (1...2).contains(shape.count), shape.last == width else {
                throw InversionError(
                    "\(path): \(name) has shape \(shape); the text encoder needs vectors of width \(width)")
            }
            let rows = shape.count == 1 ? 1 : shape[0]
            guard (1...maxVectors).contains(rows) else {
                throw InversionError(
                    "\(path): \(name) holds \(rows) vectors; an embedding has 1 to \(maxVectors) (the most a "
                        + "77-token prompt can hold)"
                )
            }
            let t = try file.tensor(name)
            let bad = t.nonFiniteCount
            guard bad == 0 else {
                throw InversionError("\(path): \(name) holds \(bad) NaN or infinite value(s); the file is damaged")
            }
            return t.copy().reshaped([rows, width]).detached()
        }
        let names = file.names
        if names.contains("emb_params") { return (nil, try vectors("emb_params")) }
        // A1111's .pt: the vectors under string_to_param, the embedding's name beside them.
        if let a1111 = names.first(where: { $0.hasPrefix("string_to_param.") }) {
            return (file.a1111Name, try vectors(a1111))
        }
        if let key = ["clip_l", "clip_g"].first(where: {
            names.contains($0) && (try? file.shape($0).last) == width
        }) {
            return (nil, try vectors(key))
        }
        guard names.count == 1, let only = names.first else {
            throw InversionError(
                "\(path) holds \(names.count) tensors (\(names.prefix(4).joined(separator: ", "))); an embedding "
                    + "file holds one (`<token>`: [N, \(width)]), or `emb_params`, or `clip_l`/`clip_g`"
            )
        }
        // The key names the token; an empty or blank one cannot be typed in a prompt.
        guard !only.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw InversionError(
                "\(path): the tensor's name (the token) is empty; give one with `load embedding FILE token=<name>`")
        }
        return (only, try vectors(only))
    }
}

extension TensorFile {
    /// The `name` an A1111 embedding file carries.
    var a1111Name: String? {
        guard case .pytorch(let f) = self, case .dict(let root) = f.root else { return nil }
        for (key, value) in root { if case .string("name") = key, case .string(let name) = value { return name } }
        return nil
    }
}
