import Diffusion
import Foundation
import Graphics
import Numerics

/// Generating images with the learned placeholders in prompts.
extension InversionSession {
    /// Images for `prompt` (placeholders allowed) by DDIM with classifier-free guidance.
    /// `onStep` is called after each denoising step and may throw to stop.
    public func generate(
        prompt: String, count: Int, steps: Int, guidance: Float, seed: UInt64, negative: String = "",
        onStep: (Int) throws -> Void = { _ in }
    ) throws -> [Image] {
        guard count >= 1 && count <= 64 else { throw InversionError("n must be between 1 and 64") }
        try checkPlaceholders(in: [prompt, negative])
        return try generate(
            prompts: Array(repeating: prompt, count: count), steps: steps, guidance: guidance,
            seed: seed, negative: negative, onStep: onStep)
    }

    /// Throws if a prompt has a `<…>` word that is not a placeholder of this session: a typo, or a
    /// concept not learned yet, which the tokenizer would split into pieces and draw as something else.
    /// Words like `<->` or A1111's `<lora:name:0.8>` are not taken for placeholders.
    public func checkPlaceholders(in prompts: [String]) throws {
        let known = placeholders
        let words = prompts.flatMap { $0.matches(of: #/<[\w*][^<>|\s:=]*>/#).map { String($0.output) } }
        guard let unknown = words.first(where: { !known.contains($0) }) else { return }
        throw InversionError(
            "the prompt names \(unknown), which is not a placeholder of this session (it has "
                + "\(known.isEmpty ? "none yet" : known.joined(separator: ", "))): learn it with `concept "
                + "\(unknown.dropFirst().dropLast()) from IMAGES…`, or load it with `load embedding FILE`"
        )
    }

    /// The placeholders prompts may use now: the concept's and the kept embeddings' (the tokenizer
    /// also keeps those of earlier concepts, whose vectors are gone).
    public var placeholders: [String] { (concept?.tokens ?? []) + keptEmbeddings.flatMap(\.tokens) }

    /// The text encoder's output for token ids [B, L], placeholders taking their vectors.
    func encode(_ ids: IndexTensor) throws -> Tensor {
        let vocabulary = pipeline.textEncoder.vocabularySize
        return ids.values.contains { $0 >= vocabulary }
            ? try conditioning(ids) : pipeline.textEncoder.conditioning(ids).context
    }

    /// One image per prompt, from one seeded batch of initial noise.
    func generate(
        prompts: [String], steps: Int, guidance: Float, seed: UInt64, negative: String = "",
        onStep: (Int) throws -> Void = { _ in }
    ) throws -> [Image] {
        let tokenizer = pipeline.tokenizer
        let count = prompts.count
        let (conditional, unconditional) = try withoutGradients {
            let ids = IndexTensor(prompts.flatMap { tokenizer.encode($0).ids }, shape: [count, tokenizer.contextLength])
            let negativeIDs = IndexTensor(
                Array(Array(repeating: tokenizer.encode(negative).ids, count: count).joined()),
                shape: [count, tokenizer.contextLength])
            return (try encode(ids), try encode(negativeIDs))
        }
        do {
            return try Generation.images(
                unet: pipeline.unet, vae: pipeline.vae, schedule: pipeline.schedule, conditional: conditional,
                unconditional: unconditional, steps: steps, guidance: guidance, seed: seed, onStep: onStep)
        } catch let error as ModelError { throw InversionError(String(describing: error)) }
    }
}
