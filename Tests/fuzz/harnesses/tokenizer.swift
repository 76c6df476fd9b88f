// The CLIP tokenizer (Diffusion.CLIPTokenizer) of the embedded model, models/gradti-emoji/tokenizer,
// with a placeholder token added as a concept adds one: clean-up, the pre-tokenizer pattern,
// byte-level BPE, added tokens, truncation and padding, and decoding back.
//
// Input: a prompt (UTF-8, invalid bytes replaced).
//
// Properties: exactly contextLength ids, start first, end after the kept tokens, padding after;
// every id is in the vocabulary; truncated exactly when the tokens do not fit.
import Diffusion
import Foundation

let placeholder = "<S*>"
let tokenizer: CLIPTokenizer = {
    let folder = repositoryRoot.appendingPathComponent("models/gradti-emoji/tokenizer")
    do {
        let tokenizer = try CLIPTokenizer(folder: folder)
        try tokenizer.addToken(placeholder)
        return tokenizer
    } catch {
        fputs("cannot load the tokenizer in \(folder.path) (set GRADTI_ROOT to the checkout): \(error)\n", stderr)
        exit(2)
    }
}()

/// Loaded before fuzzing, not inside the first input.
func setUp() { _ = tokenizer.vocabulary.count }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let prompt = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let encoding = tokenizer.encode(prompt)
    let n = tokenizer.contextLength
    require(encoding.ids.count == n, "\(encoding.ids.count) ids, not \(n)")
    require(encoding.ids[0] == tokenizer.startID, "the first id is not the start token")
    require(encoding.length >= 2 && encoding.length <= n, "length \(encoding.length) of \(n)")
    require(encoding.ids[encoding.length - 1] == tokenizer.endID, "no end token after the kept tokens")
    require(encoding.ids[encoding.length...].allSatisfy { $0 == tokenizer.padID }, "padding is not the pad token")
    require(
        encoding.truncated == (encoding.tokens.count > tokenizer.promptCapacity),
        "truncated = \(encoding.truncated) for \(encoding.tokens.count) tokens")
    require(
        encoding.length == 2 + min(encoding.tokens.count, tokenizer.promptCapacity),
        "length does not count the kept tokens")
    require(encoding.ids.allSatisfy { tokenizer.tokens[$0] != nil }, "an id outside the vocabulary")
    _ = tokenizer.decode(encoding.tokens)
    return 0
}
