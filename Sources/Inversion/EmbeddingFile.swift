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

    /// Reads vectors of width `width`; returns the token the file names (if any) and [N, width].
    public static func read(_ url: URL, width: Int) throws -> (token: String?, vectors: Tensor) {
        if ["pt", "bin", "ckpt", "pth"].contains(url.pathExtension.lowercased()) {
            throw InversionError(
                """
                \(url.path) is a PyTorch pickle, which gradti does not load (unpickling runs code). Convert it once: \
                python -c "import torch, safetensors.torch as s; \
                d = torch.load('\(url.lastPathComponent)', map_location='cpu'); \
                e = d.get('string_to_param', d); e = next(iter(e.values())) if isinstance(e, dict) else e; \
                s.save_file({'<token>': e.float().reshape(-1, e.shape[-1]).contiguous()}, 'embedding.safetensors')"
                """)
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url) } catch { throw InversionError(String(describing: error)) }
        func vectors(_ name: String) throws -> Tensor {
            // The shape is checked before any value is read, so a huge tensor is refused at once.
            let shape = try file.entry(name).shape
            guard (1...2).contains(shape.count), shape.last == width else {
                throw InversionError(
                    "\(url.path): \(name) has shape \(shape); the text encoder needs vectors of width \(width)")
            }
            let rows = shape.count == 1 ? 1 : shape[0]
            guard (1...maxVectors).contains(rows) else {
                throw InversionError(
                    "\(url.path): \(name) holds \(rows) vectors; an embedding has 1 to \(maxVectors) (the most a "
                        + "77-token prompt can hold)"
                )
            }
            let t = try file.tensor(name)
            let bad = t.nonFiniteCount
            guard bad == 0 else {
                throw InversionError("\(url.path): \(name) holds \(bad) NaN or infinite value(s); the file is damaged")
            }
            return t.copy().reshaped([rows, width]).detached()
        }
        let names = file.names
        if names.contains("emb_params") { return (nil, try vectors("emb_params")) }
        if let key = ["clip_l", "clip_g"].first(where: {
            names.contains($0) && (try? file.entry($0).shape.last) == width
        }) {
            return (nil, try vectors(key))
        }
        guard names.count == 1, let only = names.first else {
            throw InversionError(
                "\(url.path) holds \(names.count) tensors (\(names.prefix(4).joined(separator: ", "))); an embedding "
                    + "file holds one (`<token>`: [N, \(width)]), or `emb_params`, or `clip_l`/`clip_g`"
            )
        }
        // The key names the token; an empty or blank one cannot be typed in a prompt.
        guard !only.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw InversionError(
                "\(url.path): the tensor's name (the token) is empty; give one with `load embedding FILE token=<name>`")
        }
        return (only, try vectors(only))
    }
}
