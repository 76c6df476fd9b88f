import Foundation

/// A list of subjects in a text file, one per line: "U+1F415 dog", the code point then the name
/// (for people; the code point is what counts). Lines starting with # are comments.
public enum SubjectList {
    /// The list a UNet folder keeps of the subjects it was trained on, when not all.
    public static let fileName = "training_subjects.txt"

    /// The subjects listed in `folder`'s training_subjects.txt, or nil when it has none.
    public static func kept(in folder: URL, catalog: EmojiCatalog) throws -> [EmojiSubject]? {
        let file = folder.appendingPathComponent(fileName)
        return FileManager.default.fileExists(atPath: file.path) ? try read(file, catalog: catalog) : nil
    }

    public static func write(_ subjects: [EmojiSubject], to url: URL, comment: String) throws {
        let lines = comment.split(separator: "\n").map { "# \($0)" } + subjects.map { String(format: "U+%05X ", $0.codePoint) + $0.name }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// The listed subjects, in the catalog's order; an unknown or held-out code point is an error.
    public static func read(_ url: URL, catalog: EmojiCatalog) throws -> [EmojiSubject] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DatasetError("cannot read the subject list \(url.path): \(error.localizedDescription)")
        }
        let held = Set(HeldOutSubjects.all.map(\.codePoint))
        var listed = Set<UInt32>()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let word = line.prefix { !$0.isWhitespace }
            guard word.hasPrefix("U+"), let codePoint = UInt32(word.dropFirst(2), radix: 16), catalog.subject(codePoint) != nil else {
                throw DatasetError("\(url.lastPathComponent) line \(number + 1): '\(word)' is not an emoji of the font; write lines like 'U+1F415 dog'")
            }
            guard !held.contains(codePoint) else {
                throw DatasetError("\(url.lastPathComponent) line \(number + 1): \(word) is a held-out benchmark subject; the UNet must never see it")
            }
            listed.insert(codePoint)
        }
        guard !listed.isEmpty else { throw DatasetError("\(url.path) lists no subjects") }
        return catalog.trainingSubjects.filter { listed.contains($0.codePoint) }
    }
}
