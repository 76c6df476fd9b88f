import ArgumentParser
import Foundation
import Numerics

struct TensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensors",
        abstract: "Inspect and convert safetensors files and PyTorch checkpoints (.bin, .pt, .ckpt: read, never run).",
        subcommands: [List.self, Convert.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the tensors of a safetensors file or a PyTorch checkpoint.")

        @Argument(help: "A .safetensors file, or a checkpoint written by torch.save.")
        var file: String

        func run() throws {
            let opened = try TensorFile(URL(fileURLWithPath: file))
            guard case .safetensors(let tensors) = opened else {
                guard case .pytorch(let checkpoint) = opened else { return }
                let width = checkpoint.names.map(\.count).max() ?? 0
                for entry in checkpoint.entries {
                    print(
                        entry.name.padding(toLength: width, withPad: " ", startingAt: 0), entry.type.rawValue,
                        entry.shape)
                }
                print("\(checkpoint.entries.count) tensors (a PyTorch checkpoint, read without running its pickle)")
                return
            }
            let width = tensors.names.map(\.count).max() ?? 0
            var total = 0
            for entry in tensors.entries {
                total += entry.end - entry.begin
                print(
                    entry.name.padding(toLength: width, withPad: " ", startingAt: 0),
                    entry.dtype.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0),
                    entry.shape)
            }
            for (key, value) in tensors.metadata.sorted(by: { $0.key < $1.key }) { print("metadata \(key): \(value)") }
            print("\(tensors.entries.count) tensors, \(total) bytes of data")
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Rewrite a safetensors file or a PyTorch checkpoint as safetensors, float tensors in the precision "
                + "asked (integers are kept; a checkpoint's integer tensors are left out, and said).")

        @Argument(help: "The file to read.")
        var input: String

        @Argument(help: "The file to write.")
        var output: String

        @Option(help: "F32, F16 or BF16.")
        var dtype: String = "F32"

        func run() throws {
            guard let target = DType(rawValue: dtype.uppercased()), target.isFloatingPoint else {
                throw ValidationError("--dtype must be F32, F16 or BF16")
            }
            let opened = try TensorFile(URL(fileURLWithPath: input))
            guard case .safetensors(let source) = opened else {
                guard case .pytorch(let checkpoint) = opened else { return }
                let floats = checkpoint.entries.filter(\.type.isFloatingPoint)
                try SafeTensors.write(
                    try floats.map { ($0.name, .float(try checkpoint.tensor($0.name), target)) },
                    to: URL(fileURLWithPath: output))
                let skipped = checkpoint.entries.filter { !$0.type.isFloatingPoint }.map(\.name)
                print(
                    "wrote \(floats.count) tensors to \(output)"
                        + (skipped.isEmpty ? "" : "; left out the integer tensors \(skipped.joined(separator: ", "))"))
                return
            }
            let values: [(String, SafeTensors.Value)] = try source.entries.map { entry in
                entry.dtype.isFloatingPoint
                    ? (entry.name, .float(try source.tensor(entry.name), target))
                    : (entry.name, .indices(try source.indices(entry.name), entry.dtype))
            }
            try SafeTensors.write(values, metadata: source.metadata, to: URL(fileURLWithPath: output))
        }
    }
}
