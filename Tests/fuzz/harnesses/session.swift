// Session files (Inversion.SessionFileContents.read): a safetensors file of vectors, AdamW's
// moments, the concept's images, histories and metadata, checked whole without a model, for the
// embedded model (text encoder width 128, 1000 timesteps).
//
// Input: the file's bytes, written to a scratch file that is memory-mapped. Format 3 files carry
// a checksum the fuzzer cannot keep right; format 2 files (no checksum, still read) let it reach
// every check after it, so the corpus holds both.
//
// Properties: an accepted file has a named concept, 1...75 vectors, images of one size, and a
// caption list per image when its kind is captions.
import Foundation
import Inversion

let scratch = ScratchFile("session", extension: "safetensors")

func setUp() { _ = scratch }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = scratch.write(data, size)
    guard let contents = try? SessionFileContents.read(url, width: 128, trainSteps: 1000) else { return 0 }
    require(!contents.conceptName.isEmpty, "a session with no concept name")
    require((1...EmbeddingFile.maxVectors).contains(contents.vectorCount), "\(contents.vectorCount) vectors")
    require(!contents.images.isEmpty, "a session with no images")
    let first = contents.images[0]
    require(
        contents.images.allSatisfy {
            $0.width == first.width && $0.height == first.height
                && $0.pixels.count == 3 * $0.width * $0.height
        },
        "images of different sizes or wrong pixel counts")
    if contents.kind == .captions {
        require(
            contents.captions.count == contents.images.count,
            "\(contents.captions.count) caption lists for \(contents.images.count) images")
    }
    return 0
}
