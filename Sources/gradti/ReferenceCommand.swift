import ArgumentParser
import Kernel

struct ReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Print the cell-language command reference in Markdown (the README's Commands section).")

    func run() {
        print(HelpText.reference(GradtiInterpreter().registry), terminator: "")
    }
}
