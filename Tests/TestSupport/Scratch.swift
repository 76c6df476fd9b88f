import Foundation

/// Scratch folders for tests, removed when the test process exits. Helpers such as "write some
/// concept images" hand their folder to many tests, so no single test can remove it; without this
/// every `swift test` run left a few hundred folders in the temporary directory.
public enum Scratch {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folders: [URL] = []
    nonisolated(unsafe) private static var registered = false

    /// A new empty folder named `prefix-<UUID>` in the temporary directory.
    public static func folder(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        lock.withLock {
            folders.append(url)
            if !registered {
                registered = true
                atexit { Scratch.removeAll() }
            }
        }
        return url
    }

    private static func removeAll() {
        let all = lock.withLock { folders }
        for url in all { try? FileManager.default.removeItem(at: url) }
    }
}
