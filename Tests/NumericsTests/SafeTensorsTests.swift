import Foundation
import TestSupport
import Testing

@testable import Numerics

func temporaryFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("gradti-\(UUID().uuidString)-\(name)")
}

@Suite struct SafeTensorsTests {
    let fixture = Fixtures.tests.appendingPathComponent("NumericsTests/Fixtures/python-written.safetensors")

    @Test func readsWhatPythonWrote() throws {
        let file = try SafeTensorsFile(fixture)
        #expect(file.metadata == ["format": "pt", "made_by": "safetensors 0.8.0"])
        let f32 = try file.tensor("weights.f32")
        #expect(f32.shape == [2, 3])
        #expect(f32.scalars == [0.5, -1.25, 3, 1e-3, 65504, -0.0])
        #expect(
            try file.tensor("weights.f16").scalars == [0.0999755859375, -2.5, 6.097555160522461e-05, 1000, 3.140625])
        #expect(try file.tensor("weights.bf16").scalars == [1, -0.15625, 3.2964854295465914e+38, 0.00099945068359375])
        #expect(try file.indices("ids.i64") == IndexTensor([49406, 320, 1125, 49407], shape: [4]))
        #expect(try file.indices("ids.i32") == IndexTensor([1, -2, 3, 2_147_483_647], shape: [2, 2]))
    }

    @Test func roundTripsEveryDType() throws {
        var generator = RandomGenerator(seed: 5)
        let t = Tensor.randn([3, 4, 5], using: &generator)
        let url = temporaryFile("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(
            [
                ("a", .float(t, .f32)), ("b", .float(t, .f16)), ("c", .float(t, .bf16)), ("d", .float(t, .f64)),
                ("ids", .indices(IndexTensor([7, -1, 9], shape: [3]), .i64)),
                ("small", .indices(IndexTensor([1, 2], shape: [1, 2]), .i32))
            ],
            metadata: ["k": "v"], to: url)
        let file = try SafeTensorsFile(url)
        #expect(file.names == ["a", "b", "c", "d", "ids", "small"])
        #expect(try file.tensor("d").scalars == t.scalars)
        #expect(try file.doubles("d") == t.scalars.map(Double.init))
        #expect(try file.tensor("a").scalars == t.scalars)
        #expect(relativeError(try file.tensor("b").scalars.map(Double.init), t.scalars.map(Double.init)) < 1e-3)
        #expect(relativeError(try file.tensor("c").scalars.map(Double.init), t.scalars.map(Double.init)) < 1e-2)
        #expect(try file.indices("ids").values == [7, -1, 9])
        #expect(try file.indices("small").shape == [1, 2])
        #expect(file.metadata == ["k": "v"])
    }

    @Test func float16ConversionIsExactAndRoundsToNearestEven() {
        // Every half value converts to float and back unchanged.
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.float(fromF16: bits)
            #expect(value.isNaN || value.bitPattern == Float(Float16(bitPattern: bits)).bitPattern)
            if !value.isNaN, HalfPrecision.f16(value) != bits { Issue.record("f16 round trip of \(bits)") }
        }
        var generator = RandomGenerator(seed: 9)
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()))
            guard !x.isNaN else { continue }
            #expect(HalfPrecision.f16(x) == Float16(x).bitPattern, "f16(\(x))")
        }
    }

    @Test func bfloat16RoundsToNearestEven() {
        #expect(HalfPrecision.bf16(1) == 0x3F80)
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16(1 + 0x1p-8)) == 1)  // tie → even
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16(1 + 3 * 0x1p-8)) == 1 + 0x1p-6)  // tie → even (up)
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16(1 + 0x1p-8 + 0x1p-20)) == 1 + 0x1p-7)
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16(.nan)).isNaN)
    }

    /// Corrupt files give an error naming the file and, where there is one, the tensor.
    @Test(arguments: [
        ("short", Data([1, 2, 3]), "too short"),
        ("huge-header", Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8), "header length"),
        ("not-json", Self.file(header: "{nope"), "not a JSON object"),
        (
            "bad-dtype", Self.file(header: #"{"x":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: 8),
            "C64 is not supported"
        ),
        (
            "bad-count", Self.file(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8),
            "needs 12 bytes"
        ),
        ("outside", Self.file(header: #"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8), "outside"),
        (
            "overlap",
            Self.file(
                header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                    + #""y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                data: 12), "overlaps"
        ),
        ("bad-shape", Self.file(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4), "shape")
    ])
    func corruptFilesAreReported(name: String, bytes: Data, expected: String) throws {
        let url = temporaryFile(name)
        try bytes.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect {
            try SafeTensorsFile(url)
        } throws: { error in
            let text = String(describing: error)
            return text.contains(url.path) && text.contains(expected)
        }
    }

    @Test func missingTensorsAndWrongKindsAreReported() throws {
        let file = try SafeTensorsFile(fixture)
        #expect(throws: SafeTensorsError.self) { try file.tensor("nope") }
        #expect(throws: SafeTensorsError.self) { try file.tensor("ids.i64") }
        #expect(throws: SafeTensorsError.self) { try file.indices("weights.f32") }
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(temporaryFile("missing")) }
    }

    static func file(header: String, data: Int = 0) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: data))
        return bytes
    }
}
