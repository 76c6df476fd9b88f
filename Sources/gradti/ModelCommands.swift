import ArgumentParser
import Diffusion
import Foundation
import Numerics

/// `gradti tokenize MODEL "PROMPT"`: what the text encoder receives.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Show the token ids and tokens of a prompt.")

    @Argument(help: "A pipeline folder (its tokenizer/ is used) or a tokenizer folder.")
    var model: String

    @Argument(help: "The prompt.")
    var prompt: String

    @Flag(help: "One JSON object: ids padded to the context length, tokens, truncated.")
    var json = false

    func run() throws {
        let folder = URL(fileURLWithPath: model)
        let tokenizerFolder =
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer").path)
            ? folder.appendingPathComponent("tokenizer") : folder
        let tokenizer: CLIPTokenizer
        do { tokenizer = try CLIPTokenizer(folder: tokenizerFolder) } catch {
            throw ValidationError(String(describing: error))
        }
        let encoding = tokenizer.encode(prompt)
        if json {
            let object: [String: Any] = [
                "ids": encoding.ids, "tokens": encoding.tokens, "truncated": encoding.truncated
            ]
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(
            "ids:", encoding.ids.prefix(encoding.length).map(String.init).joined(separator: " "),
            "(then \(tokenizer.contextLength - encoding.length) × pad \(tokenizer.padID))")
        print("tokens:", encoding.tokens.joined(separator: " "))
        if encoding.truncated {
            print(
                "truncated: \(encoding.tokens.count) tokens; the text encoder sees the first "
                    + "\(tokenizer.promptCapacity)"
            )
        }
    }
}

/// The pipeline and sampling settings that `eval` and `check` share.
struct PipelineArguments: ParsableArguments {
    @Argument(help: "A pipeline folder in the diffusers layout.")
    var model: String

    @Option(help: "Classifier-free guidance scale for the DDIM keys.")
    var guidance: Float = 7.5

    @Option(help: "diffusers' weight variant, e.g. fp16, where a component has it.")
    var variant: String?

    func load() throws -> StableDiffusionPipeline {
        try StableDiffusionPipeline(folder: URL(fileURLWithPath: model), variant: variant)
    }
}

/// The fixture format, computed by gradti (`eval`) or compared with a reference (`check`).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compute every output of the fixture format whose inputs are in a reference file.")

    @OptionGroup var pipeline: PipelineArguments

    @Option(help: "The reference file with the inputs (text.input_ids, unet.sample, vae.image, …).")
    var inputs: String

    @Option(help: "Where to write the outputs (safetensors, float32).")
    var output: String

    func run() throws {
        let results = try ReferenceEvaluation.evaluate(
            pipeline.load(), inputs: SafeTensorsFile(URL(fileURLWithPath: inputs)),
            guidance: pipeline.guidance)
        try SafeTensors.write(results.map { ($0.0, .float($0.1, .f32)) }, to: URL(fileURLWithPath: output))
        print("wrote \(results.count) tensors to \(output)")
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Compare a pipeline with a reference file: relative L2 error per key; fails above 1e-4 (1e-3 for "
            + "gradients and DDIM)."
    )

    @OptionGroup var pipeline: PipelineArguments

    @Argument(help: "The reference file (fixture format).")
    var reference: String

    func run() throws {
        let file = try SafeTensorsFile(URL(fileURLWithPath: reference))
        let results = try ReferenceEvaluation.compare(
            ReferenceEvaluation.evaluate(pipeline.load(), inputs: file, guidance: pipeline.guidance), with: file)
        let width = results.map(\.key.count).max() ?? 0
        var failed = 0
        for result in results {
            let ok = result.error < result.tolerance
            if !ok { failed += 1 }
            print(
                result.key.padding(toLength: width, withPad: " ", startingAt: 0),
                String(format: "%.3e", result.error), ok ? "ok" : "FAIL (tolerance \(result.tolerance))")
        }
        print("\(results.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
