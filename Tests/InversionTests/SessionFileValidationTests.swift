import Diffusion
import Foundation
import Numerics
import Testing

@testable import Inversion

/// A session file is checked whole before anything changes: counts, ranges, lengths, finite
/// values, names, and (from format 3) a checksum of the content.
@Suite struct SessionFileValidationTests {
    /// A saved session after 2 steps, and the live session that saved it.
    func saved() throws -> (InversionSession, URL) {
        let s = try session(vectors: 2)
        try s.setStrategy(.adaptive(bins: 10, floor: 0.2, ema: 0.3), profile: [])
        for _ in 0..<2 { try s.step() }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-valid-\(UUID()).safetensors")
        try s.saveSession(to: url)
        return (s, url)
    }

    /// The file rewritten with changes (and a fresh checksum unless `format` says otherwise).
    func rewritten(
        _ url: URL, metadata changes: [String: String] = [:],
        tensors replace: [String: SafeTensors.Value] = [:]
    ) throws -> URL {
        let file = try SafeTensorsFile(url)
        var metadata = file.metadata
        metadata[ContentChecksum.key] = nil
        for (key, value) in changes { metadata[key] = value }
        let tensors: [(String, SafeTensors.Value)] = try file.names.map { name in
            if let value = replace[name] { return (name, value) }
            let entry = try file.entry(name)
            return entry.dtype.isFloatingPoint
                ? (name, .float(try file.tensor(name).copy(), .f32)) : (name, .indices(try file.indices(name), .i64))
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-changed-\(UUID()).safetensors")
        try SafeTensors.write(
            tensors, metadata: metadata, checksum: metadata["format"] != "gradti-session-2", to: out)
        return out
    }

    func expectRefused(_ url: URL, _ fragment: String, by session: InversionSession) {
        let (steps, vectors) = (session.stepCount, session.vectors?.scalars)
        #expect(
            performing: { try session.loadSession(from: url) }, throws: { String(describing: $0).contains(fragment) })
        do { try session.loadSession(from: url) } catch {
            #expect(String(describing: error).contains(fragment), "\(error)")
        }
        #expect(session.stepCount == steps && session.vectors?.scalars == vectors, "the session changed")
    }

    @Test func outOfRangeValuesAreRefused() throws {
        let (s, url) = try saved()
        defer { try? FileManager.default.removeItem(at: url) }
        let w = s.pipeline.textEncoder.tokenWidth
        // Before: a step count of Int.max loaded, and `step 1` trapped on overflow.
        let cases: [([String: String], [String: SafeTensors.Value], String)] = [
            (["step": "\(Int.max)"], [:], "metadata step"),
            (["step": "-1"], [:], "metadata step"),
            (["adam.step": "99999999999"], [:], "adam.step"),
            (["strategy.allowed": "0 99999"], [:], "strategy.allowed"),
            (["strategy.allowed": "500 500"], [:], "strategy.allowed"),
            (["strategy": "adaptive 0 0.2 0.3"], [:], "bins"),
            (["strategy": "single 5000"], [:], "strategy"),
            (["concept.name": ""], [:], "concept.name"),
            (["concept.name": "two words"], [:], "concept.name"),
            (["concept.vectors": "100000"], [:], "concept.vectors"),
            (["settings": "0.005 0 0.01 3 false"], [:], "batch"),
            (["settings": "nan 1 0.01 3 false"], [:], "lr"),
            (["settings": "0.005 1"], [:], "settings"),
            ([:], ["sampler.estimates": .float(Tensor(zeros: [3]), .f32)], "sampler.estimates"),
            ([:], ["vectors": .float(Tensor([Float](repeating: .nan, count: 2 * w), shape: [2, w]), .f32)], "vectors"),
            ([:], ["vectors": .float(Tensor(zeros: [3, w]), .f32)], "vectors"),
            ([:], ["adam.v": .float(Tensor([Float](repeating: -1, count: 2 * w), shape: [2, w]), .f32)], "adam.v"),
            ([:], ["history.timesteps": .indices(IndexTensor([5, 99_999, 3, 4], shape: [4]), .i64)], "history"),
            ([:], ["history.batch": .indices(IndexTensor([2, 3], shape: [2]), .i64)], "history"),
            ([:], ["random.state": .indices(IndexTensor([1, 2, 3], shape: [3]), .i64)], "random.state"),
            (
                [:],
                [
                    "concept.images": .float(
                        Tensor([Float](repeating: .infinity, count: 3 * 3 * 16 * 16), shape: [3, 3, 16, 16]), .f32)
                ],
                "concept.images"
            )
        ]
        for (metadata, tensors, fragment) in cases {
            let changed = try rewritten(url, metadata: metadata, tensors: tensors)
            defer { try? FileManager.default.removeItem(at: changed) }
            expectRefused(changed, fragment, by: s)
        }
        // The unchanged rewrite loads: the cases above fail for their change alone.
        let same = try rewritten(url)
        defer { try? FileManager.default.removeItem(at: same) }
        try s.loadSession(from: same)
        #expect(s.stepCount == 2)
    }

    @Test func aFlippedByteIsRefused() throws {
        let (s, url) = try saved()
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = try Data(contentsOf: url)
        // One byte in the data section (the last one), and one in the header's metadata.
        var flipped = bytes
        flipped[flipped.count - 1] ^= 0x01
        let header = String(decoding: bytes[8..<min(bytes.count, 8 + 65_536)], as: UTF8.self)
        let stepValue = try #require(header.range(of: "\"step\":\"2\""))
        var renamed = bytes
        renamed[8 + header.utf8.distance(from: header.startIndex, to: stepValue.upperBound) - 2] = UInt8(ascii: "7")
        for (damaged, label) in [(flipped, "data"), (renamed, "metadata")] {
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
                "gradti-flipped-\(label)-\(UUID()).safetensors")
            defer { try? FileManager.default.removeItem(at: copy) }
            try damaged.write(to: copy)
            // Before: the session loaded silently with the changed value.
            expectRefused(copy, "checksum", by: s)
        }
    }

    @Test func filesBeforeChecksumsStillLoadAndAreChecked() throws {
        let (s, url) = try saved()
        defer { try? FileManager.default.removeItem(at: url) }
        let old = try rewritten(url, metadata: ["format": "gradti-session-2"])
        defer { try? FileManager.default.removeItem(at: old) }
        try s.loadSession(from: old)
        let bad = try rewritten(url, metadata: ["format": "gradti-session-2", "step": "\(Int.max)"])
        defer { try? FileManager.default.removeItem(at: bad) }
        expectRefused(bad, "metadata step", by: s)
    }

    /// Format 4 keeps the measurement settings and every profile; formats 2 and 3 load with defaults.
    @Test func measurementsAndProfilesRoundTripAndOldFormatsLoad() throws {
        let s = try session(vectors: 1)
        s.measurement.every = 5
        s.measurement.similarity = false
        s.similaritySettings.images = 3
        s.similaritySettings.prompts = ["a {} on a table"]
        s.recordProfile(
            try s.profile(timesteps: [100, 500], samples: 1), label: "after 0 steps")
        try s.step()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-m-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try s.saveSession(to: url)
        let other = try session(vectors: 1)
        try other.loadSession(from: url)
        #expect(other.measurement == s.measurement && other.similaritySettings == s.similaritySettings)
        #expect(other.profiles == s.profiles && other.lastProfile(.norm).map(\.t) == [100, 500])

        // The same file as format 3 wrote it: no measurement, no profiles.
        let old = try rewritten(url, metadata: ["format": "gradti-session-3", "measurement": "", "profiles": ""])
        defer { try? FileManager.default.removeItem(at: old) }
        // It leaves the live measurement settings as they are (the file has none).
        let third = try session(vectors: 1)
        third.measurement.every = 7
        try third.loadSession(from: old)
        #expect(third.stepCount == 1 && third.profiles.isEmpty && third.measurement.every == 7)

        // A diverged run's NaN and ∞ profile values save and load (as its histories do).
        s.recordProfile([.norm: [ProfilePoint(t: 10, mean: .nan, std: .infinity)]], label: "diverged")
        try s.saveSession(to: url)
        try other.loadSession(from: url)
        #expect(other.profiles.last?.points.first?.mean.isNaN == true && other.profiles.count == 3)

        // Values out of range are refused, naming the field.
        for (key, value, fragment) in [
            ("measurement", #"{"every":-1,"settings":{"images":8,"steps":20,"guidance":5,"seed":0}}"#, "measurement"),
            ("measurement", "not json", "measurement"),
            ("profiles", #"[{"label":"x","points":[{"t":5000,"mean":1,"std":0}]}]"#, "profiles"),
            ("profiles", #"[{"label":"","points":[]}]"#, "profiles")
        ] {
            let bad = try rewritten(url, metadata: [key: value])
            defer { try? FileManager.default.removeItem(at: bad) }
            expectRefused(bad, fragment, by: other)
        }
    }
}

/// Embedding files: between 1 and 75 finite vectors under a real token name.
@Suite struct EmbeddingFileValidationTests {
    func write(_ name: String, _ vectors: Tensor) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-emb-\(UUID()).safetensors")
        try SafeTensors.write([(name, .float(vectors, .f32))], to: url)
        return url
    }

    @Test func badEmbeddingsAreRefused() throws {
        let s = try session()
        let w = s.pipeline.textEncoder.tokenWidth
        let before = s.concept?.placeholder
        let cases: [(String, Tensor, String)] = [
            ("<x>", Tensor(zeros: [0, w]), "0 vectors"),
            ("<x>", Tensor([Float](repeating: 1, count: 76 * w), shape: [76, w]), "76 vectors"),
            // Before: 100,000 vectors took 18 s to load and ignored interrupts.
            ("<x>", Tensor(zeros: [100_000, w]), "100000 vectors"),
            ("<x>", Tensor([Float](repeating: .nan, count: w), shape: [1, w]), "NaN"),
            ("", Tensor(zeros: [1, w]), "empty"),
            (" ", Tensor(zeros: [1, w]), "empty")
        ]
        for (name, vectors, fragment) in cases {
            let url = try write(name, vectors)
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(
                performing: { _ = try s.loadEmbedding(from: url) },
                throws: { String(describing: $0).contains(fragment) })
            #expect(s.concept?.placeholder == before)
        }
        let good = try write("<good>", Tensor(zeros: [75, w]))
        defer { try? FileManager.default.removeItem(at: good) }
        #expect(try s.loadEmbedding(from: good).tokens.count == 75)
    }

}
