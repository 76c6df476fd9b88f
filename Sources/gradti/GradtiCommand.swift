import ArgumentParser
import Kernel

@main
struct GradtiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradti",
        abstract: "A Jupyter kernel for textual inversion of diffusion models.",
        version: Gradti.version,
        subcommands: [KernelCommand.self, InstallKernelCommand.self, ReferenceCommand.self, BenchCommand.self, TensorsCommand.self,
                      TokenizeCommand.self, EvalCommand.self, CheckCommand.self, DatasetCommand.self, TrainCommand.self, StudyCLICommand.self])
}
