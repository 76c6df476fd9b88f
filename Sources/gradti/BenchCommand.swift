import ArgumentParser
import Foundation
import Jupyter

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (run by hand; figures go to BENCHMARKS.md).",
        subcommands: [KernelBench.self, EngineBench.self, UNetBench.self, ModelBench.self])
}

/// Kernel start-to-ready and trivial-cell round trip, for gradti and a reference kernel, with the
/// same client in the same run.
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Start-to-ready time and trivial-cell round trip, gradti against ipykernel.")

    @Option(help: "Python environments whose share/jupyter/kernels hold the kernelspecs.")
    var prefix: [String] = [".venv"]

    @Option(help: "Kernel starts measured per kernel.")
    var starts = 10

    @Option(help: "Round trips measured per kernel (after 50 warm-up cells).")
    var roundTrips = 1000

    func run() throws {
        let kernels = [("gradti", "print \"x\""), ("python3", "print('x')")]
        print("kernel   cell          start→ready (median, min, max)       round trip (median, p90, p99)")
        for (name, code) in kernels {
            let spec = try KernelSpec.find(
                name, prefixes: prefix.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
            var startTimes: [Double] = []
            var trips: [Double] = []
            for index in 0..<starts {
                let clock = ContinuousClock()
                let begin = clock.now
                let client = try KernelClient(spec: spec)
                try client.waitUntilReady()
                startTimes.append((clock.now - begin).milliseconds)
                if index == 0 {
                    for _ in 0..<50 { try client.execute(code) }
                    for _ in 0..<roundTrips {
                        let t = clock.now
                        try client.execute(code)
                        trips.append((clock.now - t).milliseconds)
                    }
                }
                client.shutdown()
            }
            startTimes.sort()
            trips.sort()
            print(
                String(
                    format: "%-8@ %-13@ %7.1f ms (%6.1f, %6.1f)              %6.3f ms (%6.3f, %6.3f)",
                    name, code, median(startTimes), startTimes.first ?? 0, startTimes.last ?? 0,
                    median(trips), percentile(trips, 0.9), percentile(trips, 0.99)))
        }
    }

    private func median(_ sorted: [Double]) -> Double { percentile(sorted, 0.5) }
    private func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) * 1e-15 }
}
