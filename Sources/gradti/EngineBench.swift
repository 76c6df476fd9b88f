import ArgumentParser
import Foundation
import Numerics

/// The numerics engine at Stable Diffusion 1.5 shapes (64x64 latents), against the machine's sgemm peak.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "sgemm peak, and conv2d and attention forward/backward GFLOP/s at SD-1.5 UNet shapes.")

    @Option(help: "Timed repetitions per case (the best is reported).")
    var repeats = 3

    @Option(help: "Threads for products and the engine's loops (default: all cores).")
    var threads: Int?

    @Option(help: "Attention scores held per chunk (default: the engine's).")
    var attentionChunk: Int?

    @Option(help: "Column-matrix elements per convolution tile (default: the engine's).")
    var convColumns: Int?

    func run() throws {
        if let convColumns { ConvolutionTuning.columnElements = convColumns }
        let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
        Threads.configured = cores
        if let attentionChunk { AttentionTuning.chunkElements = attentionChunk }
        var generator = RandomGenerator(seed: 0)
        print("threads: \(cores)")

        // Peak: the best large square product (this machine's clock and neighbours vary).
        var peak = 0.0
        for n in [2048, 3072] {
            let a = Tensor.randn([n, n], using: &generator)
            let b = Tensor.randn([n, n], using: &generator)
            _ = a.matmul(b)
            let rate = 2 * pow(Double(n), 3) / best { _ = a.matmul(b) }.0 / 1e9
            print(String(format: "sgemm %dx%d: %.1f GFLOP/s", n, n, rate))
            peak = max(peak, rate)
        }
        print(String(format: "peak: %.1f GFLOP/s (OpenBLAS kernels: %@)", peak, BLAS.coreName))
        print(
            "case                                   forward GFLOP/s (%peak)   backward GFLOP/s (%peak)   fwd ms   bwd "
                + "ms"
        )

        for (channels, side) in [(320, 64), (640, 32), (1280, 16)] {
            let x = Tensor.randn([1, channels, side, side], using: &generator, requiresGrad: true)
            let w = Tensor.randn([channels, channels, 3, 3], std: 0.02, using: &generator, requiresGrad: true)
            let flops = 2 * Double(channels * channels * 9 * side * side)
            report(
                "conv3x3 \(channels)->\(channels) @\(side)x\(side)", forwardFlops: flops, backwardFlops: 2 * flops,
                peak: peak,
                leaves: [x, w], forward: { x.conv2d(w, padding: 1) },
                seed: { Tensor.randn($0.shape, using: &generator) })
        }

        // Self-attention: 4096 tokens, 8 heads of 40; cross-attention: 4096 queries to 77 keys.
        let meter = ProductMeter()
        var products: [(name: String, forward: ProductRate, backward: ProductRate)] = []
        for (name, lk) in [("self-attention 4096x4096, 8x40", 4096), ("cross-attention 4096x77, 8x40", 77)] {
            let q = Tensor.randn([1, 4096, 320], using: &generator, requiresGrad: true)
            let k = Tensor.randn([1, lk, 320], using: &generator, requiresGrad: true)
            let v = Tensor.randn([1, lk, 320], using: &generator, requiresGrad: true)
            let product = 2 * Double(4096 * lk * 320)
            // Forward: QKᵀ and PV. Backward (as executed): QKᵀ again, dV, dP, dQ, dK.
            let rates = report(
                name, forwardFlops: 2 * product, backwardFlops: 5 * product, peak: peak, meter: meter,
                leaves: [q, k, v], forward: { Tensor.attention(q, k, v, heads: 8, meter: meter) },
                seed: { Tensor.randn($0.shape, using: &generator) })
            products.append((name, rates.forward, rates.backward))
        }

        // The products inside attention, timed in place on each thread: their rate per thread against
        // the peak per thread, and their share of the threads' time (the rest is mostly the softmax).
        print(
            "attention's products alone (packing included), per thread against peak / \(cores), and their share of "
                + "the time:"
        )
        for (name, forward, backward) in products {
            printRow(
                name, forward: forward.perThread * Double(cores), backward: backward.perThread * Double(cores),
                peak: peak,
                then: String(format: "%5.0f%%   %5.0f%%", 100 * forward.share, 100 * backward.share))
        }
    }

    /// Attention's products during the fastest run: GFLOP/s per thread-second spent in them, and the
    /// fraction of the run's thread time (wall time × threads) that they took.
    struct ProductRate {
        var perThread = 0.0, share = 0.0
    }

    /// Each backward starts, as a training step does, with no gradient in `leaves` (`zeroGradients`).
    @discardableResult
    private func report(
        _ name: String, forwardFlops: Double, backwardFlops: Double, peak: Double, meter: ProductMeter? = nil,
        leaves: [Tensor], forward: () -> Tensor, seed: (Tensor) -> Tensor
    ) -> (forward: ProductRate, backward: ProductRate) {
        var output = forward()
        let gradient = seed(output)
        let (forwardTime, forwardProducts) = best(meter: meter) { output = forward() }
        let (backwardTime, backwardProducts) = best(
            meter: meter,
            prepare: {
                output = forward()
                for leaf in leaves { leaf.grad = nil }
            }
        ) { output.backward(gradient) }
        printRow(
            name, forward: forwardFlops / forwardTime / 1e9, backward: backwardFlops / backwardTime / 1e9, peak: peak,
            then: String(format: "%7.1f  %7.1f", forwardTime * 1000, backwardTime * 1000))
        return (forwardProducts, backwardProducts)
    }

    /// One row of a table: the case, forward and backward GFLOP/s with their share of the peak, then `then`.
    private func printRow(_ name: String, forward: Double, backward: Double, peak: Double, then: String) {
        print(
            name.padding(toLength: 38, withPad: " ", startingAt: 0)
                + String(
                    format: " %7.1f (%3.0f%%)              %7.1f (%3.0f%%)           ", forward, 100 * forward / peak,
                    backward, 100 * backward / peak) + then)
    }

    /// The best wall time of `repeats` runs of `body`, each after `prepare` (untimed), and what
    /// `meter` counted during that run.
    private func best(meter: ProductMeter? = nil, prepare: () -> Void = {}, _ body: () -> Void) -> (Double, ProductRate)
    {
        var fastest = Double.infinity
        var rate = ProductRate()
        let threads = Double(Threads.count)
        for _ in 0..<max(repeats, 1) {
            prepare()
            meter?.reset()
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds < fastest, let totals = meter?.totals, totals.threadSeconds > 0 {
                rate = ProductRate(
                    perThread: totals.flops / totals.threadSeconds / 1e9,
                    share: totals.threadSeconds / (seconds * threads))
            }
            fastest = min(fastest, seconds)
        }
        return (fastest, rate)
    }
}
