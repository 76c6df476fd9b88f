import Foundation

/// A list of subjects in a text file, one per line: "U+1F415 dog face", the code point, then the name
/// (optional, for people; when given it must be the subject's). Lines starting with # are comments.
public enum SubjectList {
    /// The list a UNet folder keeps of the subjects it is trained on, when not all.
    public static let fileName = "training_subjects.txt"

    /// The subjects listed in `folder`'s training_subjects.txt, or nil when it has none.
    public static func stored(in folder: URL, catalog: EmojiCatalog) throws -> [EmojiSubject]? {
        let file = folder.appendingPathComponent(fileName)
        return FileManager.default.fileExists(atPath: file.path) ? try read(file, catalog: catalog) : nil
    }

    /// The subjects of the list at `path` if given, else those `folder` stores, else all training subjects.
    public static func resolve(path: String?, folder: URL, catalog: EmojiCatalog) throws -> [EmojiSubject] {
        try path.map { try read(URL(fileURLWithPath: $0), catalog: catalog) } ?? stored(in: folder, catalog: catalog)
            ?? catalog.trainingSubjects
    }

    /// The subjects a UNet training folder trains on, settled when a run starts. A run in progress keeps
    /// its subjects (a different `given` list is an error); a fresh run stores `given` in the folder, or
    /// removes an earlier run's list and trains on all training subjects.
    public static func settle(_ given: [EmojiSubject]?, folder: URL, inProgress: Bool, catalog: EmojiCatalog) throws
        -> [EmojiSubject]
    {
        let file = folder.appendingPathComponent(fileName)
        if inProgress {
            let current = try stored(in: folder, catalog: catalog) ?? catalog.trainingSubjects
            if let given, Set(given) != Set(current) {
                throw DatasetError(
                    "the run in \(folder.path) trains on \(current.count) other subjects (its \(fileName), or all "
                        + "when it has none): "
                        + "resume it without --subjects, or train in another folder")
            }
            return current
        }
        guard let given else {
            try? FileManager.default.removeItem(at: file)
            return catalog.trainingSubjects
        }
        try write(given, to: file, comment: "The subjects this UNet is trained on (gradti train unet --subjects).")
        return try read(file, catalog: catalog)
    }

    public static func write(_ subjects: [EmojiSubject], to url: URL, comment: String) throws {
        let lines =
            comment.split(separator: "\n").map { "# \($0)" }
            + subjects.map { String(format: "U+%05X ", $0.codePoint) + $0.name }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// The listed subjects, each once, in the catalog's order; an unknown or held-out code point, or a
    /// name that is not the code point's, is an error naming the line.
    public static func read(_ url: URL, catalog: EmojiCatalog) throws -> [EmojiSubject] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DatasetError("cannot read the subject list \(url.path): \(error.localizedDescription)")
        }
        let held = Set(HeldOutSubjects.all.map(\.codePoint))
        var listed = Set<UInt32>()
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let place = "\(url.lastPathComponent) line \(number + 1)"
            let word = line.prefix { !$0.isWhitespace }
            let name = line.dropFirst(word.count).trimmingCharacters(in: .whitespaces)
            guard word.hasPrefix("U+"), let codePoint = UInt32(word.dropFirst(2), radix: 16),
                let subject = catalog.subject(codePoint)
            else {
                throw DatasetError(
                    "\(place): '\(word)' is not an emoji of the font; write lines like 'U+1F436 dog face'")
            }
            guard !held.contains(codePoint) else {
                throw DatasetError(
                    "\(place): \(word) is a held-out benchmark subject, which the UNet must never see; remove the line")
            }
            guard name.isEmpty || name == subject.name else {
                throw DatasetError(
                    "\(place): \(word) is '\(subject.name)', not '\(name)'; correct the code point or the name")
            }
            listed.insert(codePoint)
        }
        guard !listed.isEmpty else {
            throw DatasetError(
                "\(url.path) lists no subjects: write lines like 'U+1F436 dog face', or make a list with `gradti "
                    + "dataset distinct`"
            )
        }
        return catalog.trainingSubjects.filter { listed.contains($0.codePoint) }
    }
}
