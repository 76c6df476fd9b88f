import Foundation
import Jupyter
import Numerics

/// What a running command can reach: its outputs, the registry, the interrupt token.
public final class CommandContext {
    public let io: ExecutionIO
    public let registry: CommandRegistry
    /// What lives in the kernel between cells: the model and the inversion session.
    public let workspace: Workspace

    init(io: ExecutionIO, registry: CommandRegistry, workspace: Workspace) {
        self.io = io
        self.registry = registry
        self.workspace = workspace
    }

    /// Throws `Interrupted` if the user interrupted; long commands call it between units of work.
    public func checkCancellation() throws { try io.cancellation.check() }

    public func progress(_ title: String, total: Int) -> ProgressDisplay {
        ProgressDisplay(io: io, title: title, total: total)
    }

    /// Runs a long piece of work under a live progress bar. `body` moves the bar and polls for
    /// interrupts (`checkCancellation`); an interrupt finishes the bar with `interrupted()` (what is
    /// kept) and goes on to the interpreter, which reports it, as it reports any other error.
    public func withProgress<T>(
        _ title: String, total: Int, interrupted: () -> String, _ body: (ProgressDisplay) throws -> T
    ) throws -> T {
        let progress = progress(title, total: total)
        do {
            return try body(progress)
        } catch is Interrupted {
            progress.finish(interrupted())
            throw Interrupted()
        }
    }
}

/// A command's failure: what went wrong, and what to do about it.
public struct CommandError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Paths in cells are relative to the kernel's working directory (the notebook's folder); `~` is home.
func resolvePath(_ path: String) -> URL {
    let expanded = (path as NSString).expandingTildeInPath
    return URL(fileURLWithPath: expanded, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        .standardizedFileURL
}

/// A file a command is about to write: the path resolved as `resolvePath` does, its folder made
/// if missing (as `save_pretrained` and our `outputs/` do), or an error naming the folder.
func outputPath(_ path: String) throws -> URL {
    let url = resolvePath(path)
    let folder = url.deletingLastPathComponent()
    do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
        throw CommandError(
            "cannot write \(path): cannot create its folder \(displayPath(folder)) (\(error.localizedDescription))")
    }
    return url
}
