import ArgumentParser
import Foundation
import Numerics

struct TensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensors", abstract: "Inspect and convert safetensors files.",
        subcommands: [List.self, Convert.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tensors of a safetensors file.")

        @Argument(help: "A .safetensors file.")
        var file: String

        func run() throws {
            let tensors = try SafeTensorsFile(URL(fileURLWithPath: file))
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
            abstract: "Rewrite a safetensors file with its float tensors in another precision (integers are kept).")

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
            let source = try SafeTensorsFile(URL(fileURLWithPath: input))
            let values: [(String, SafeTensors.Value)] = try source.entries.map { entry in
                entry.dtype.isFloatingPoint
                    ? (entry.name, .float(try source.tensor(entry.name), target))
                    : (entry.name, .indices(try source.indices(entry.name), entry.dtype))
            }
            try SafeTensors.write(values, metadata: source.metadata, to: URL(fileURLWithPath: output))
        }
    }
}
