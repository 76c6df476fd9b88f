import ArgumentParser
import Foundation
import Kernel
import Numerics

@main
struct GradtiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradti",
        abstract: "A Jupyter kernel for textual inversion of diffusion models.",
        version: Gradti.version,
        subcommands: [
            KernelCommand.self, InstallKernelCommand.self, ReferenceCommand.self, BenchCommand.self,
            TensorsCommand.self,
            TokenizeCommand.self, EvalCommand.self, CheckCommand.self, DatasetCommand.self, TrainCommand.self,
            StudyCLICommand.self, InvertCommand.self
        ])

    static func main() {
        restartWithBetterBLASKernels()
        main(nil)
    }

    /// OpenBLAS picks its kernels when the library loads, before any of gradti runs: when it fell back
    /// to SSE3 on a CPU with AVX-512 or AVX2, gradti starts itself again (same process id, arguments
    /// and descriptors) with `OPENBLAS_CORETYPE` naming the right ones.
    static func restartWithBetterBLASKernels() {
        guard let core = BLAS.betterCoreType(environment: ProcessInfo.processInfo.environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &arguments)
        // Still here: exec failed, so go on with the kernels OpenBLAS chose.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
