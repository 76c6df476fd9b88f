import ArgumentParser
import Foundation
import Jupyter
import Kernel

struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel", abstract: "Run the Jupyter kernel (what the kernelspec starts).")

    @Option(name: .long, help: "The connection file written by the Jupyter client.")
    var connectionFile: String

    func run() throws {
        let connection: ConnectionInfo
        do { connection = try ConnectionInfo(contentsOf: URL(fileURLWithPath: connectionFile)) } catch {
            throw ValidationError(String(describing: error))
        }
        let server = try KernelServer(connection: connection, interpreter: GradtiInterpreter(),
                                      identity: GradtiInterpreter.identity)
        server.run()
    }
}
