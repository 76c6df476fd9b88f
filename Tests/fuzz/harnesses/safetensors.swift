// safetensors files (Numerics.SafeTensorsFile): the 8-byte length, the JSON header, every entry's
// checks, then every tensor read back in the type it holds.
//
// Input: the whole file, written to a scratch file that SafeTensorsFile memory-maps.
//
// Properties: an accepted entry's bytes lie inside the data section and match its shape and dtype;
// every accepted float tensor reads back with its shape; every integer tensor with its count.
import Foundation
import Numerics

let scratch = ScratchFile("safetensors", extension: "safetensors")

func setUp() { _ = scratch }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = scratch.write(data, size)
    guard let file = try? SafeTensorsFile(url) else { return 0 }
    _ = file.metadata
    _ = file.checksumMatches
    var previousEnd = 0
    for entry in file.entries {
        require(
            entry.begin >= previousEnd && entry.begin <= entry.end && entry.end <= size,
            "entry \(entry.name) at \(entry.begin)..<\(entry.end) (after \(previousEnd)) in a \(size)-byte file")
        previousEnd = entry.end
        // Computed with overflow checks here, so a wrong header fails this property, not the harness.
        var count = 1
        var overflow = false
        for d in entry.shape + [entry.dtype.byteSize] {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            (count, overflow) = (p, overflow || o)
        }
        require(
            !overflow && count == entry.end - entry.begin,
            "entry \(entry.name): shape \(entry.shape) of \(entry.dtype) accepted for \(entry.end - entry.begin) bytes")
        count /= entry.dtype.byteSize
        require((try? file.entry(entry.name))?.begin == entry.begin, "entry \(entry.name) not found by name")
        switch entry.dtype {
        case .i64, .i32:
            guard let t = try? file.indices(entry.name) else {
                require(false, "integer tensor \(entry.name) refused after its header was accepted")
                return 0
            }
            require(
                t.values.count == count && t.shape == entry.shape, "integer tensor \(entry.name) read as \(t.shape)")
        default:
            guard let t = try? file.tensor(entry.name) else {
                require(false, "float tensor \(entry.name) refused after its header was accepted")
                return 0
            }
            require(t.shape == entry.shape && t.count == count, "float tensor \(entry.name) read as \(t.shape)")
            _ = t.nonFiniteCount
            if count <= 4096 { _ = try? file.doubles(entry.name) }
        }
    }
    return 0
}
