import Foundation

/// The one way tests find their fixtures: by path under the repository's `Tests/` folder (they
/// are committed there; tests run from the checkout). A missing fixture is an error thrown to the
/// test that asked, which fails that test alone, never a crash of the whole run.
public enum Fixtures {
    /// The repository's `Tests/` folder.
    public static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    /// The repository root.
    public static let repository = tests.deletingLastPathComponent()

    /// The tiny SD-1.x-shaped pipeline made with diffusers, and the folder holding it with its
    /// `reference.safetensors` and `reference.json`.
    public static let sdTinyFolder = tests.appendingPathComponent("DiffusionTests/Fixtures/sd-tiny")
    public static let sdTiny = sdTinyFolder.appendingPathComponent("pipeline")

    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "fixture \(path) is missing: run the tests from a complete checkout" }
    }

    /// A fixture file or folder by its path under `Tests/`, e.g. `DiffusionTests/Fixtures/sd-tiny`.
    public static func url(_ path: String) throws -> URL {
        let url = tests.appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: url.path) else { throw Missing(path: path) }
        return url
    }

    /// The bytes of a fixture file under `Tests/`.
    public static func data(_ path: String) throws -> Data {
        try Data(contentsOf: url(path))
    }
}
