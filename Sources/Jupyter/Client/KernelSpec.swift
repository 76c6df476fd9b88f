import Foundation

/// An installed kernelspec, found the way jupyter_core looks for them.
public struct KernelSpec: Sendable {
    public var name: String
    public var folder: URL
    public var argv: [String]
    public var environment: [String: String]

    /// The data folders searched, in order: JUPYTER_PATH, the given Python prefixes, the user's, the system's.
    public static func searchPath(prefixes: [String]) -> [URL] {
        let environment = ProcessInfo.processInfo.environment
        var folders: [String] = []
        if let path = environment["JUPYTER_PATH"] { folders += path.split(separator: ":").map(String.init) }
        folders += prefixes.map { $0 + "/share/jupyter" }
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        folders.append(
            environment["JUPYTER_DATA_DIR"] ?? (environment["XDG_DATA_HOME"] ?? home + "/.local/share") + "/jupyter")
        folders += ["/usr/local/share/jupyter", "/usr/share/jupyter"]
        return folders.map { URL(fileURLWithPath: $0).appendingPathComponent("kernels") }
    }

    public static func find(_ name: String, prefixes: [String]) throws -> KernelSpec {
        let searched = searchPath(prefixes: prefixes)
        for kernels in searched {
            let folder = kernels.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("kernel.json").path)
            else { continue }
            let json = try JSON.parse(data)
            guard var argv = json["argv"]?.array?.compactMap(\.string), !argv.isEmpty else {
                throw ConnectionError("\(folder.path)/kernel.json has no argv")
            }
            // Specs that say plain `python` mean the Python of the environment they are installed in.
            if argv[0] == "python" || argv[0] == "python3" {
                let local = kernels.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("bin/python").path
                if FileManager.default.isExecutableFile(atPath: local) { argv[0] = local }
            }
            let environment = json["env"]?.object?.compactMapValues(\.string) ?? [:]
            return KernelSpec(name: name, folder: folder, argv: argv, environment: environment)
        }
        throw ConnectionError("no kernelspec named \(name) in " + searched.map(\.path).joined(separator: ", "))
    }
}
