import ArgumentParser
import Foundation
import Jupyter
import Kernel

struct InstallKernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-kernel",
        abstract: "Install the gradti kernelspec where `jupyter kernelspec list` finds it.",
        discussion: """
            Without a location option the kernelspec goes to the system-wide folder \
            (/usr/local/share/jupyter/kernels), as `jupyter kernelspec install` does.
            """)

    @Flag(help: "Install for the current user (the Jupyter data folder).")
    var user = false

    @Flag(help: "Install into the active Python environment (VIRTUAL_ENV, CONDA_PREFIX or python3's sys.prefix).")
    var sysPrefix = false

    @Option(help: "Install under DIR/share/jupyter/kernels.")
    var prefix: String?

    @Option(help: "The kernelspec's name (the folder name, and what `--kernel` selects).")
    var name = "gradti"

    @Option(help: "The name shown in front ends' kernel pickers.")
    var displayName = "gradti"

    @Option(help: "The folder with kernel.json and logos to install (default: kernelspec/ of the source tree).")
    var template: String?

    func validate() throws {
        if [user, sysPrefix, prefix != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --user, --sys-prefix and --prefix")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw ValidationError("--name may hold letters, digits, '.', '_' and '-' only")
        }
    }

    func run() throws {
        guard let source = template.map({ URL(fileURLWithPath: $0) }) ?? Installation.resource("kernelspec") else {
            throw ValidationError(
                "no kernelspec folder beside \(Installation.executableURL.path) or above it: pass --template "
                    + "with the repository's kernelspec folder")
        }
        let specFile = source.appendingPathComponent("kernel.json")
        guard let data = FileManager.default.contents(atPath: specFile.path) else {
            throw ValidationError(
                "no kernel.json in \(source.path); pass --template with the repository's kernelspec folder")
        }
        guard case .object(var spec) = try JSON.parse(data), case .array(var argv)? = spec["argv"], !argv.isEmpty else {
            throw ValidationError("\(specFile.path) has no argv list")
        }
        argv[0] = .string(Installation.executableURL.path)
        spec["argv"] = .array(argv)
        spec["display_name"] = .string(displayName)

        let destination = try kernelsFolder().appendingPathComponent(name)
        let files = FileManager.default
        do {
            try files.createDirectory(at: destination, withIntermediateDirectories: true)
            try JSON.object(spec).serialized(pretty: true).write(to: destination.appendingPathComponent("kernel.json"))
            for logo in ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"] {
                let target = destination.appendingPathComponent(logo)
                try? files.removeItem(at: target)
                try files.copyItem(at: source.appendingPathComponent(logo), to: target)
            }
        } catch {
            throw ValidationError(
                "cannot write \(destination.path): \(error.localizedDescription)"
                    + (user ? "" : " (try --user, or --prefix DIR)"))
        }
        print("Installed kernelspec \(name) in \(destination.path)")
    }

    private func kernelsFolder() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let prefix { return URL(fileURLWithPath: prefix).appendingPathComponent("share/jupyter/kernels") }
        if user {
            if let data = environment["JUPYTER_DATA_DIR"] {
                return URL(fileURLWithPath: data).appendingPathComponent("kernels")
            }
            let home = FileManager.default.homeDirectoryForCurrentUser
            #if os(macOS)
                return home.appendingPathComponent("Library/Jupyter/kernels")
            #else
                let dataHome =
                    environment["XDG_DATA_HOME"].map { URL(fileURLWithPath: $0) }
                    ?? home.appendingPathComponent(".local/share")
                return dataHome.appendingPathComponent("jupyter/kernels")
            #endif
        }
        if sysPrefix {
            guard let root = environment["VIRTUAL_ENV"] ?? environment["CONDA_PREFIX"] ?? Self.pythonPrefix() else {
                throw ValidationError("no Python environment found for --sys-prefix; activate one or use --prefix DIR")
            }
            return URL(fileURLWithPath: root).appendingPathComponent("share/jupyter/kernels")
        }
        return URL(fileURLWithPath: "/usr/local/share/jupyter/kernels")
    }

    private static func pythonPrefix() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.prefix)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : nil
    }
}
