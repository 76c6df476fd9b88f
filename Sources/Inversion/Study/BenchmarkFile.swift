import Foundation
import Numerics

/// An inversion benchmark on disk: a folder with `subjects.json` and, per subject, a folder of
/// concept images (gradti's own is written by `gradti dataset benchmark`). A benchmark of one's own
/// needs only `slug`, `initWord`, `images` and `prompts` per subject.
public struct BenchmarkSubject: Codable, Sendable {
    public var slug: String
    /// The emoji's code point in gradti's benchmark; empty elsewhere.
    public var codePoint: String
    public var name: String
    public var initWord: String
    /// PNG file names in the subject's folder, with the caption each was drawn from.
    public var images: [String]
    public var captions: [String]
    /// Evaluation prompts, `{}` standing for the placeholder.
    public var prompts: [String]

    public init(
        slug: String, codePoint: String, name: String, initWord: String, images: [String], captions: [String],
        prompts: [String]
    ) {
        (self.slug, self.codePoint, self.name, self.initWord) = (slug, codePoint, name, initWord)
        (self.images, self.captions, self.prompts) = (images, captions, prompts)
    }

    enum CodingKeys: String, CodingKey { case slug, codePoint, name, initWord, images, captions, prompts }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        slug = try c.decode(String.self, forKey: .slug)
        initWord = try c.decode(String.self, forKey: .initWord)
        images = try c.decode([String].self, forKey: .images)
        prompts = try c.decode([String].self, forKey: .prompts)
        codePoint = try c.decodeIfPresent(String.self, forKey: .codePoint) ?? ""
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? slug
        captions = try c.decodeIfPresent([String].self, forKey: .captions) ?? []
    }

    /// What a study needs of a subject, checked before anything runs.
    func validate(in folder: URL) throws {
        let problem: String?
        if slug.isEmpty || slug.contains("/") {
            problem = "its slug must be a non-empty folder name"
        } else if images.isEmpty {
            problem = "it lists no images"
        } else if let missing = images.first(where: {
            !FileManager.default.fileExists(atPath: folder.appendingPathComponent(slug).appendingPathComponent($0).path)
        }) {
            problem = "its image \(slug)/\(missing) is missing"
        } else if prompts.isEmpty || !prompts.allSatisfy({ $0.contains("{}") }) {
            problem = "its prompts must be a non-empty list of templates with {} for the placeholder"
        } else {
            problem = nil
        }
        if let problem {
            throw InversionError(
                "subject \"\(slug)\" in \(displayPath(folder)): \(problem)")
        }
    }
}

public enum BenchmarkFile {
    public static let name = "subjects.json"

    /// The subjects of a benchmark folder: gradti's `subjects.json`, or google/dreambooth's `dataset/`
    /// folder as it is downloaded (`DreamBoothLayout`).
    public static func read(_ folder: URL) throws -> [BenchmarkSubject] {
        let url = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            if DreamBoothLayout.isLayout(folder) {
                let subjects = try DreamBoothLayout.read(folder)
                for subject in subjects { try subject.validate(in: folder) }
                return subjects
            }
            throw InversionError(
                "\(displayPath(folder)) is not a benchmark: it holds neither \(name) (gradti's, with a folder of "
                    + "images per subject) nor \(DreamBoothLayout.fileName) (google/dreambooth's dataset/ folder)")
        }
        let data: Data
        do { data = try FileAccess.read(url, limit: 64 << 20) } catch {
            throw InversionError(String(describing: error))
        }
        let subjects: [BenchmarkSubject]
        do { subjects = try JSONDecoder().decode([BenchmarkSubject].self, from: data) } catch {
            throw InversionError(
                "\(url.path) is not a benchmark file (a list of {\"slug\", \"initWord\", \"images\", \"prompts\"}): "
                    + "\(error)"
            )
        }
        for subject in subjects { try subject.validate(in: folder) }
        guard Set(subjects.map(\.slug)).count == subjects.count else {
            throw InversionError("\(url.path) lists a subject twice")
        }
        return subjects
    }

    public static func write(_ subjects: [BenchmarkSubject], to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileAccess.writeAtomically(encoder.encode(subjects), to: folder.appendingPathComponent(name))
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
