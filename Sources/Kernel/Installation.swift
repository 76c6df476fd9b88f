import Foundation

/// Where gradti finds what ships with it (the embedded model, the kernelspec template) on the
/// machine it runs on: never from the build machine's source paths, so a copied or installed binary
/// works as well as one in its checkout's `.build/`.
public enum Installation {
    /// The embedded default model's folder name.
    public static let modelName = "gradti-emoji"

    /// The embedded default model, searched in this order:
    /// 1. `GRADTI_MODEL`: the model folder itself;
    /// 2. `GRADTI_MODELS`: a folder holding `gradti-emoji/`;
    /// 3. beside the executable and in each folder above it: `models/gradti-emoji` (a checkout whose
    ///    `.build/release/gradti` runs, or a copy with its `models/` beside it), and
    ///    `share/gradti/models/gradti-emoji` (an install prefix whose `bin/` holds gradti).
    /// Throws, naming every place it looked, when none holds a pipeline.
    public static func defaultModelFolder(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL = executableURL
    ) throws -> URL {
        if let path = environment["GRADTI_MODEL"], !path.isEmpty {
            let folder = URL(fileURLWithPath: path)
            guard isPipeline(folder) else {
                throw CommandError(
                    "GRADTI_MODEL names \(path), which holds no pipeline (no model_index.json): "
                        + "set it to the embedded model's folder, or give a folder: `load PATH/TO/PIPELINE`")
            }
            return folder
        }
        var candidates: [URL] = []
        if let path = environment["GRADTI_MODELS"], !path.isEmpty {
            candidates.append(URL(fileURLWithPath: path).appendingPathComponent(modelName))
        }
        candidates += ancestors(of: executable.deletingLastPathComponent()).flatMap { folder in
            [
                folder.appendingPathComponent("models/\(modelName)"),
                folder.appendingPathComponent("share/gradti/models/\(modelName)")
            ]
        }
        if let found = candidates.first(where: isPipeline) { return found.standardizedFileURL }
        throw CommandError(
            "the embedded default model was not found (looked for models/\(modelName) beside \(executable.path) "
                + "and in the folders above it, and share/gradti/models/\(modelName) under them"
                + (environment["GRADTI_MODELS"].map { ", and in GRADTI_MODELS=\($0)" } ?? "")
                + "): set GRADTI_MODEL to its folder, or name a pipeline folder (`load PATH/TO/PIPELINE` in the kernel)"
        )
    }

    /// A file or folder that ships beside gradti (e.g. `kernelspec`): in the executable's folder or
    /// the nearest folder above it, or under `share/gradti/` there.
    public static func resource(_ name: String, executable: URL = executableURL) -> URL? {
        for folder in ancestors(of: executable.deletingLastPathComponent()) {
            for candidate in [
                folder.appendingPathComponent(name), folder.appendingPathComponent("share/gradti/\(name)")
            ]
            where FileManager.default.fileExists(atPath: candidate.path) {
                return candidate.standardizedFileURL
            }
        }
        return nil
    }

    /// The running binary, links resolved (a link in `~/bin` finds the real install).
    public static var executableURL: URL {
        let path = Bundle.main.executableURL?.path ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).resolvingSymlinksInPath()
    }

    static func isPipeline(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_index.json").path)
    }

    /// `folder` and every folder above it, nearest first.
    static func ancestors(of folder: URL) -> [URL] {
        var result: [URL] = []
        var current = folder.standardizedFileURL
        while true {
            result.append(current)
            let parent = current.deletingLastPathComponent().standardizedFileURL
            if parent.path == current.path || result.count > 64 { return result }
            current = parent
        }
    }
}
