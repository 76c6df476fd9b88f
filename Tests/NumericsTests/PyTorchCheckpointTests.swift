import Foundation
import TestSupport
import Testing

@testable import Numerics

/// torch.save's checkpoints read by gradti's own unpickler (fixtures by `Fixtures/pytorch/make_checkpoints.py`).
@Suite struct PyTorchCheckpointTests {
    static let folder = Fixtures.tests.appendingPathComponent("NumericsTests/Fixtures/pytorch")
    func url(_ name: String) -> URL { Self.folder.appendingPathComponent(name) }

    /// Every element type, strides (a transpose), storage offsets (a view sharing another's storage), 0-d
    /// tensors and parameters: the values torch saved.
    @Test func aStateDictReadsAsTorchWroteIt() throws {
        let checkpoint = try PyTorchCheckpoint(url("state-dict.bin"))
        let expected = try SafeTensorsFile(url("expected.safetensors"))
        #expect(
            checkpoint.names == [
                "linear.weight", "linear.weight_t", "rows.tail", "half", "bfloat", "double", "steps", "scalar", "param"
            ])
        for name in checkpoint.names where name != "steps" {
            let ours = try checkpoint.tensor(name)
            #expect(ours.shape == (try expected.entry(name).shape), "\(name)")
            #expect(ours.scalars == (try expected.tensor(name).scalars), "\(name)")
        }
        #expect(try checkpoint.entry("half").type == .float16 && checkpoint.entry("steps").type == .int64)
        #expect { try checkpoint.tensor("steps") } throws: { String(describing: $0).contains("int64 integers") }
    }

    /// Tensors are found wherever they sit, beside objects that are not data (an argparse namespace, an
    /// optimiser's state), which are ignored.
    @Test func nestedCheckpointsAndEmbeddings() throws {
        let lightning = try PyTorchCheckpoint(url("lightning.ckpt"))
        #expect(lightning.names == ["state_dict.linear.weight", "state_dict.half"])
        let a1111 = try PyTorchCheckpoint(url("a1111-embedding.pt"))
        #expect(a1111.names == ["string_to_param.*"])
        let expected = try SafeTensorsFile(url("expected-embeddings.safetensors"))
        #expect(try a1111.tensor("string_to_param.*").scalars == expected.tensor("a1111").scalars)
        let diffusers = try PyTorchCheckpoint(url("learned_embeds.bin"))
        #expect(diffusers.names == ["<cat-toy>"])
        #expect(try diffusers.tensor("<cat-toy>").scalars == expected.tensor("diffusers").scalars)
    }

    /// Damaged files say what is wrong with them.
    @Test(arguments: [
        ("truncated.bin", "not a readable zip archive"), ("legacy.bin", "legacy format"),
        ("bad-opcode.bin", "pickle opcode 0x96"), ("expected.safetensors", "is not a PyTorch checkpoint")
    ])
    func damagedFilesAreClearErrors(name: String, fragment: String) {
        #expect { try PyTorchCheckpoint(url(name)) } throws: {
            String(describing: $0).contains(name) && String(describing: $0).contains(fragment)
        }
    }

    @Test func aStorageTooShortIsAnErrorNamingTheTensor() throws {
        let checkpoint = try PyTorchCheckpoint(url("short-storage.bin"))
        #expect { try checkpoint.tensor("linear.weight") } throws: {
            String(describing: $0).contains("tensor linear.weight needs 48 bytes of storage 0, which has 8")
        }
    }

    /// A container inside itself (Python allows it) unfolds once, the inner reference opaque: nothing leaks or
    /// recurses without end. Opcodes the unpickler does not know are refused, never skipped.
    @Test func cyclesAndUnknownOpcodes() throws {
        // PROTO 2, EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP
        let cyclic = try PyTorchCheckpoint.unpickle(Data([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]))
        guard case .list(let items) = cyclic, items.count == 1, case .object = items[0] else {
            Issue.record("unexpected \(cyclic)")
            return
        }
        #expect { try PyTorchCheckpoint.unpickle(Data([0x80, 0x02, 0x96, 0x2E])) } throws: {
            String(describing: $0).contains("pickle opcode 0x96") && String(describing: $0).contains("at byte 3")
        }
        #expect(throws: PickleError.self) { try PyTorchCheckpoint.unpickle(Data([0x80, 0x02, 0x5D])) }
    }

    /// A safetensors file whose header is 128 bytes long starts with 0x80, as a pickle does: it is still
    /// read as safetensors (a legacy PyTorch file is told by its whole magic number).
    @Test func safetensorsStartingWith0x80AreNotTakenForPickles() throws {
        var header = Array(#"{"<x>":{"dtype":"F32","shape":[1,4],"data_offsets":[0,16]}}"#.utf8)
        header += [UInt8](repeating: 0x20, count: 128 - header.count)
        var bytes: [UInt8] = [0x80, 0, 0, 0, 0, 0, 0, 0] + header
        for value in [Float(1), 2, 3, 4] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-0x80-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(bytes).write(to: url)
        guard case .safetensors(let file) = try TensorFile(url) else {
            Issue.record("taken for a PyTorch file")
            return
        }
        #expect(try file.tensor("<x>").scalars == [1, 2, 3, 4])
    }
}
