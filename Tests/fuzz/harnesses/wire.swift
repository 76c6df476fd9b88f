// The Jupyter wire decoder and its HMAC check (Jupyter.WireCodec, Signer, DigestHistory, JSON).
//
// Input: one mode byte, then frames separated by 0xFF, a byte UTF-8 never uses, so the JSON
// frames can hold any text. Mode bit 0: replace the signature frame by the right HMAC of the four
// parts after `<IDS|MSG>`, so the input reaches the JSON parsers (otherwise only a forged or absent
// signature is checked); bit 1: no key (signing disabled); bits 2–3: the replay history
// (none, 1, 2 or 64 signatures).
//
// Properties: decode throws only WireError; an accepted signed message is refused as a replay the
// second time; what decode returns encodes to frames that decode again to the same routing,
// header and buffers.
import Foundation
import Jupyter

let key = "a0436f6c-1916-498b-8eb9-e81ab9368e84"  // the key of Tests/JupyterTests/Fixtures/signatures.json
let keyed = Signer(key: key)
let keyless = Signer(key: "")

func setUp() { _ = (keyed, keyless) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let body = UnsafeBufferPointer(start: data + 1, count: size - 1)
    var frames = body.split(separator: 0xFF, omittingEmptySubsequences: false).map { Data($0) }
    let signer = mode & 2 != 0 ? keyless : keyed
    if mode & 1 != 0, let split = frames.firstIndex(of: WireCodec.delimiter), frames.count - split > 5 {
        frames[split + 1] = Data(signer.signature(Array(frames[(split + 2)...(split + 5)])).utf8)
    }
    let capacity = [0, 1, 2, 64][Int(mode >> 2) & 3]
    let history = capacity == 0 ? nil : DigestHistory(capacity: capacity)
    let codec = WireCodec(signer: signer, history: history)

    let message: Message
    do {
        message = try codec.decode(frames)
    } catch let error as WireError {
        _ = error.description
        if case .badBody(let partial, _) = error { _ = partial.headerJSON.text }
        switch error {
        case .noDelimiter, .tooFewFrames, .badSignature:
            break  // refused before the signature was recorded
        case .replayed:
            require(false, "the first decode with an empty history was refused as a replay")
        default:
            // Past the signature check: the same frames again are a replay.
            if history != nil, signer.isSigning { replayIsRefused(codec, frames) }
        }
        return 0
    } catch {
        require(false, "decode threw \(type(of: error)), not a WireError: \(error)")
        return 0
    }
    if history != nil, signer.isSigning { replayIsRefused(codec, frames) }

    // What the kernel received, sent back the way it sends messages, decodes again.
    let again: Message
    do {
        again = try WireCodec(signer: signer).decode(WireCodec(signer: signer).encode(message))
    } catch {
        require(false, "a decoded message does not survive encode → decode: \(error)")
        return 0
    }
    require(again.identities == message.identities, "identities changed in encode → decode")
    require(again.buffers == message.buffers, "buffers changed in encode → decode")
    require(again.header == message.header, "header changed in encode → decode: \(message.header) → \(again.header)")
    _ = message.content.text
    _ = message.parentHeader.serialized(pretty: true)
    return 0
}

func replayIsRefused(_ codec: WireCodec, _ frames: [Data]) {
    do {
        _ = try codec.decode(frames)
        require(false, "the same signed frames were accepted twice (no replay refusal)")
    } catch WireError.replayed {
    } catch {
        require(false, "a replay was refused as \(error), not as a replay")
    }
}
