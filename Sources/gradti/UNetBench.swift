import ArgumentParser
import Diffusion
import Foundation
import Numerics

/// Forward pass and textual-inversion step of a UNet with random weights, with peak memory.
struct UNetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract:
            "Time a UNet's forward pass and textual-inversion step (forward + MSE + gradient to the conditioning).")

    @Option(help: "sd15 (SD-1.5's UNet, 64x64 latents, batch 1) or tiny (16x16 latents, batch 4).")
    var config: String = "tiny"

    @Option(help: "Timed runs of each (after one warm-up); medians are reported.")
    var repeats: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        guard let preset = UNetPreset(rawValue: config) else {
            throw ValidationError(
                "--config must be one of \(UNetPreset.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let architecture = try preset.config()
        let unet = try UNet2DConditionModel(config: architecture, weights: .random(seed: 0))
        var generator = RandomGenerator(seed: 1)
        let (batch, side) = (preset.batch, architecture.sampleSize)
        let latents = Tensor.randn([batch, architecture.inChannels, side, side], using: &generator)
        let target = Tensor.randn([batch, architecture.outChannels, side, side], using: &generator)
        let context = Tensor.randn([batch, 77, architecture.crossAttentionDim], using: &generator)
        let timesteps = Array(repeating: Float(500), count: batch)
        let runs = repeats ?? (preset == .sd15 ? 3 : 20)

        func forward() {
            _ = inBatchShares(batch) { range in
                unet(latents.batchRows(range), timesteps: Array(timesteps[range]), context: context.batchRows(range))
            }
        }
        // As a textual-inversion session runs it: the batch in shares, one per thread.
        func inversionStep() {
            _ = batchMeanLoss(of: context) { c, range in
                Tensor.mse(
                    unet(latents.batchRows(range), timesteps: Array(timesteps[range]), context: c),
                    target.batchRows(range))
            }
        }
        let forwardMs = medianMilliseconds(runs: runs, forward)
        let stepMs = medianMilliseconds(runs: runs, inversionStep)
        let peak = Double(peakResidentBytes()) / 1_048_576
        if json {
            print(
                String(
                    format:
                        #"{"config": "%@", "forward_ms": %.1f, "ti_step_ms": %.1f, "peak_rss_mb": %.0f, "blas": "%@"}"#,
                    preset.rawValue, forwardMs, stepMs, peak, BLAS.coreName))
        } else {
            print(
                "UNet \(preset.rawValue): batch \(batch), \(architecture.inChannels)x\(side)x\(side) latents, "
                    + "77x\(architecture.crossAttentionDim) conditioning; OpenBLAS \(BLAS.coreName)"
            )
            print(
                String(
                    format: "forward %.1f ms, textual-inversion step %.1f ms (medians of %d), peak RSS %.0f MB",
                    forwardMs, stepMs, runs, peak))
        }
    }
}

/// The median wall time of `runs` calls of `body` (at least one), after one untimed warm-up call.
func medianMilliseconds(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<max(runs, 1) {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times.sorted()[times.count / 2]
}

/// The process's peak resident memory (VmHWM) in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    else { return 0 }
    return kb * 1024
}
