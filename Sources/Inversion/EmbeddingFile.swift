import Foundation
import Numerics

/// Learned embeddings in the files other tools exchange: one safetensors key `<token>` holding a
/// float32 [N, D] tensor (diffusers' `load_textual_inversion`, AUTOMATIC1111, kohya, InvokeAI);
/// also kohya's `emb_params` key and SDXL-style `clip_l` / `clip_g` keys.
public enum EmbeddingFile {
    public static func write(token: String, vectors: Tensor, to url: URL) throws {
        // Written atomically (a temporary file renamed into place), so an interrupted save never
        // leaves half a file under the real name.
        try SafeTensors.write([(token, .float(vectors.detached(), .f32))], to: url)
    }

    /// Reads vectors of width `width`; returns the token the file names (if any) and [N, width].
    public static func read(_ url: URL, width: Int) throws -> (token: String?, vectors: Tensor) {
        if ["pt", "bin", "ckpt", "pth"].contains(url.pathExtension.lowercased()) {
            throw InversionError("""
                \(url.path) is a PyTorch pickle, which gradti does not load (unpickling runs code). Convert it once: \
                python -c "import torch, safetensors.torch as s; d = torch.load('\(url.lastPathComponent)', map_location='cpu'); \
                e = d.get('string_to_param', d); e = next(iter(e.values())) if isinstance(e, dict) else e; \
                s.save_file({'<token>': e.float().reshape(-1, e.shape[-1]).contiguous()}, 'embedding.safetensors')"
                """)
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(url) } catch { throw InversionError(String(describing: error)) }
        func vectors(_ name: String) throws -> Tensor {
            let t = try file.tensor(name)
            let rows = t.rank == 1 ? 1 : t.count / max(t.dim(-1), 1)
            guard t.dim(-1) == width, t.rank <= 2 else {
                throw InversionError("\(url.path): \(name) has shape \(t.shape); the text encoder needs vectors of width \(width)")
            }
            return t.copy().reshaped([rows, width]).detached()
        }
        let names = file.names
        if names.contains("emb_params") { return (nil, try vectors("emb_params")) }
        if let key = ["clip_l", "clip_g"].first(where: { names.contains($0) && (try? file.entry($0).shape.last) == width }) {
            return (nil, try vectors(key))
        }
        guard names.count == 1, let only = names.first else {
            throw InversionError("\(url.path) holds \(names.count) tensors (\(names.prefix(4).joined(separator: ", "))); an embedding file holds one (`<token>`: [N, \(width)]), or `emb_params`, or `clip_l`/`clip_g`")
        }
        return (only, try vectors(only))
    }
}
