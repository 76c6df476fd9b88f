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
        if !connection.isSigned {
            FileHandle.standardError.write(
                Data(
                    """
                    [gradti] warning: the connection file's key is empty, so messages are not signed: \
                    anyone who can reach these ports can run commands. Jupyter's own clients always write a key.\n
                    """.utf8))
        }
        let server = try KernelServer(
            connection: connection, interpreter: GradtiInterpreter(),
            identity: GradtiInterpreter.identity)
        server.run()
    }
}
