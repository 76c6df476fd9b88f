// Embedding files (Inversion.EmbeddingFile.read): safetensors with one `<token>` tensor, or
// `emb_params`, or `clip_l` / `clip_g`, for the embedded model's text encoder (width 128).
//
// Input: the file's bytes, written to a scratch file that is memory-mapped.
//
// Properties: accepted vectors are [N, 128] with 1 ≤ N ≤ EmbeddingFile.maxVectors, all finite;
// a token, when the file names one, is not blank.
import Foundation
import Inversion

let width = 128  // models/gradti-emoji/text_encoder/config.json: hidden_size
let scratch = ScratchFile("embedding", extension: "safetensors")

func setUp() { _ = scratch }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmbedding(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = scratch.write(data, size)
    guard let (token, vectors) = try? EmbeddingFile.read(url, width: width) else { return 0 }
    require(vectors.shape.count == 2 && vectors.shape[1] == width, "vectors of shape \(vectors.shape)")
    require((1...EmbeddingFile.maxVectors).contains(vectors.shape[0]), "\(vectors.shape[0]) vectors")
    require(vectors.nonFiniteCount == 0, "non-finite values accepted")
    if let token { require(!token.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "blank token accepted") }
    return 0
}
