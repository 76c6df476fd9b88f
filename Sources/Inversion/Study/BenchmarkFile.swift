import Foundation

/// An inversion benchmark on disk: a folder with `subjects.json` and, per subject, a folder of
/// concept images (gradti's own is written by `gradti dataset benchmark`).
public struct BenchmarkSubject: Codable, Sendable {
    public var slug: String
    public var codePoint: String
    public var name: String
    public var initWord: String
    /// PNG file names in the subject's folder, with the caption each was drawn from.
    public var images: [String]
    public var captions: [String]
    /// Evaluation prompts, `{}` standing for the placeholder.
    public var prompts: [String]

    public init(slug: String, codePoint: String, name: String, initWord: String, images: [String], captions: [String], prompts: [String]) {
        (self.slug, self.codePoint, self.name, self.initWord) = (slug, codePoint, name, initWord)
        (self.images, self.captions, self.prompts) = (images, captions, prompts)
    }
}

public enum BenchmarkFile {
    public static let name = "subjects.json"

    public static func read(_ folder: URL) throws -> [BenchmarkSubject] {
        let url = folder.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw InversionError("\(url.path) is missing: a benchmark folder holds subjects.json and a folder of images per subject")
        }
        do { return try JSONDecoder().decode([BenchmarkSubject].self, from: data) } catch {
            throw InversionError("\(url.path) is not a benchmark file: \(error)")
        }
    }

    public static func write(_ subjects: [BenchmarkSubject], to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(subjects).write(to: folder.appendingPathComponent(name))
    }

    /// gradti's built-in benchmark, `data/emoji-benchmark`, searched from `start` upwards (notebooks
    /// run in `notebooks/`).
    public static func locateDefault(from start: URL) -> URL? {
        var folder = start.standardizedFileURL
        for _ in 0..<6 {
            let candidate = folder.appendingPathComponent("data/emoji-benchmark")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(name).path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }
}
