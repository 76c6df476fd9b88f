import Foundation

/// How a file is named in outputs and messages: relative to the kernel's working directory when it is
/// inside it (`outputs/generate-….png`) or near it (at most two folders up: a notebook's
/// `../models/gradti-emoji`), as cells name files and so that shared notebooks do not carry the
/// author's folders; absolute elsewhere.
public func displayPath(_ url: URL) -> String {
    let base = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.pathComponents
    let path = url.standardizedFileURL.pathComponents
    // The common folder below the root: relative paths only within a shared tree (a notebook's
    // ../models/x, never ../../../usr/x).
    var common = 0
    while common < min(base.count, path.count) && base[common] == path[common] { common += 1 }
    guard common > 1, base.count - common <= 2 else { return url.standardizedFileURL.path }
    let relative = Array(repeating: "..", count: base.count - common) + path[common...]
    return relative.isEmpty ? "." : relative.joined(separator: "/")
}
