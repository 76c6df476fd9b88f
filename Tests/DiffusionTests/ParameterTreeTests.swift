import Foundation
import Numerics
import TestSupport
import Testing

@testable import Diffusion

@Suite struct ParameterTreeTests {
    /// A tree of a linear layer (weight [3, 2], bias [3]) and a folder holding `tensors`.
    static func setUp(_ tensors: [(String, Tensor)]) throws -> (ParameterTree, Linear, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-tree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SafeTensors.write(
            tensors.map { ($0.0, .float($0.1, .f32)) }, metadata: [:],
            to: folder.appendingPathComponent("w.safetensors"))
        let tree = ParameterTree()
        let layer = Linear(tree, "proj", in: 2, out: 3)
        return (tree, layer, folder)
    }

    static let weight = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])
    static let bias = Tensor([7, 8, 9], shape: [3])

    @Test func bindsEveryParameterByNameWhateverTheFilesOrder() throws {
        let (tree, layer, folder) = try Self.setUp([("proj.bias", Self.bias), ("proj.weight", Self.weight)])
        defer { try? FileManager.default.removeItem(at: folder) }
        try tree.bind(.checkpoint(CheckpointFiles(folder: folder, names: ["w.safetensors"])))
        #expect(tree.names == ["proj.weight", "proj.bias"])
        #expect(layer.weight.value.scalars == Self.weight.scalars)
        #expect(layer.bias?.value.scalars == Self.bias.scalars)
        #expect(layer(Tensor([1, 1], shape: [1, 2])).scalars == [10, 15, 20])
    }

    @Test func missingSurplusAndMisshapenTensorsAreErrorsThatName() throws {
        let cases: [([(String, Tensor)], String)] = [
            ([("proj.weight", Self.weight)], "missing tensor proj.bias"),
            ([("proj.weight", Self.weight), ("proj.bias", Self.bias), ("extra", Self.bias)], "no place for: extra"),
            ([("proj.weight", Tensor(zeros: [2, 3])), ("proj.bias", Self.bias)], "proj.weight has shape [2, 3]"),
            (
                [("proj.weight", Tensor([.nan, 2, 3, 4, 5, 6], shape: [3, 2])), ("proj.bias", Self.bias)],
                "NaN or infinite"
            )
        ]
        for (tensors, message) in cases {
            let (tree, _, folder) = try Self.setUp(tensors)
            defer { try? FileManager.default.removeItem(at: folder) }
            let error = #expect(throws: ModelError.self) {
                try tree.bind(.checkpoint(CheckpointFiles(folder: folder, names: ["w.safetensors"])))
            }
            #expect(error.map { "\($0)".contains(message) } == true, "\(String(describing: error)) for \(message)")
        }
    }

    @Test func ignoredBuffersMayBePresentAndThePrefixMayBeToo() throws {
        let (tree, layer, folder) = try Self.setUp([
            ("m.proj.weight", Self.weight), ("proj.bias", Self.bias), ("m.positions", Tensor(zeros: [4]))
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        try tree.bind(
            .checkpoint(
                CheckpointFiles(folder: folder, names: ["w.safetensors"], optionalPrefix: "m.", ignoring: ["positions"])
            ))
        #expect(layer.weight.value.scalars == Self.weight.scalars)
    }

    /// One tensor stored twice (with and without the optional prefix) is ambiguous: refused.
    @Test func aTensorStoredTwiceIsRefused() throws {
        let (_, _, folder) = try Self.setUp([
            ("m.proj.weight", Self.weight), ("proj.weight", Self.weight), ("proj.bias", Self.bias)
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try CheckpointFiles(folder: folder, names: ["w.safetensors"], optionalPrefix: "m.")
        } throws: { String(describing: $0).contains("proj.weight is stored twice") }
    }

    @Test func copiesAreIndependentTensorsWithTheSourcesValues() throws {
        let (source, _, folder) = try Self.setUp([("proj.weight", Self.weight), ("proj.bias", Self.bias)])
        defer { try? FileManager.default.removeItem(at: folder) }
        try source.bind(.checkpoint(CheckpointFiles(folder: folder, names: ["w.safetensors"], writable: true)))
        let copy = ParameterTree()
        let bias = copy.declare("proj.bias", [3])
        let weight = copy.declare("proj.weight", [3, 2])
        try copy.bind(.copy(source))
        #expect(weight.value.scalars == Self.weight.scalars && bias.value.scalars == Self.bias.scalars)
        weight.value.data[0] = 100
        #expect(source["proj.weight"]?.value.scalars.first == 1)
        let other = ParameterTree()
        _ = other.declare("proj.scale", [3])
        #expect(throws: ModelError.self) { try other.bind(.copy(source)) }
    }

    /// Random weights are drawn in declaration order: the same seed gives the same model.
    @Test func aSeedGivesTheSameWeights() throws {
        func draw() throws -> [Float] {
            let tree = ParameterTree()
            _ = Linear(tree, "a", in: 4, out: 4)
            _ = Linear(tree, "b", in: 4, out: 2)
            try tree.bind(.random(seed: 5))
            return tree.named.flatMap(\.tensor.scalars)
        }
        #expect(try draw() == draw())
        #expect(try draw().contains { $0 != 0 })
    }
}
