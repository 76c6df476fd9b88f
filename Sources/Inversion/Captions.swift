import Foundation
import Numerics

/// Training prompts from files beside the images: caption files (IMAGE.txt, one caption a line, several
/// lines are alternatives) and A1111's template files.
///
/// gradti's captions mark the concept's place with `{}`. Captions written for kohya's or A1111's trainers
/// name no placeholder; in those, the first whole-word occurrence of the init word or phrase (any case)
/// becomes `{}` ("a photo of a dog on the beach" with init=dog: "a photo of a {} on the beach"), or, when
/// it does not occur, `{}` goes in front ("{}, 1girl, solo, beach").
enum Captions {
    static let example =
        "write one line such as \"a {} on a red background\" ({} for the concept; without it the init word's place, "
        + "or the front), or give kind=object to train with the templates instead"

    /// The non-empty lines of a caption file, each with `{}` where the concept goes.
    static func read(_ file: URL, initWord: String) throws -> [String] {
        let text: String
        do { text = try FileAccess.readText(file, limit: 1 << 20) } catch {
            throw InversionError(
                "training with captions needs a caption file next to every image, and \(error); \(example)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        guard !lines.isEmpty else { throw InversionError("\(displayPath(file)) holds no caption; \(example)") }
        return lines.map { place($0, initWord: initWord) }
    }

    /// A caption with `{}` where the concept goes (see the type's comment).
    static func place(_ caption: String, initWord: String) -> String {
        if caption.contains("{}") { return caption }
        let phrase = initWord.trimmingCharacters(in: .whitespaces)
        if !phrase.isEmpty,
            let range = caption.range(
                of: "\\b" + NSRegularExpression.escapedPattern(for: phrase) + "\\b",
                options: [.regularExpression, .caseInsensitive])
        {
            return caption.replacingCharacters(in: range, with: "{}")
        }
        return "{}, " + caption
    }

    /// A1111's template file (`[name]` for the concept, `[filewords]` for each image's words) made into
    /// each image's captions. An image's words are its caption file's lines joined (with their `{}`
    /// removed), or without one its file name's (leading numbers and dashes dropped, `_` as spaces), as
    /// A1111 reads them.
    static func fromTemplates(_ file: URL, images: [URL]) throws -> [[String]] {
        let text: String
        do { text = try FileAccess.readText(file, limit: 1 << 20) } catch { throw InversionError("\(error)") }
        let templates = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !templates.isEmpty else { throw InversionError("\(displayPath(file)) holds no template") }
        if let bad = templates.first(where: { !$0.contains("[name]") }) {
            throw InversionError(
                "\(displayPath(file)): the template \"\(bad)\" has no [name] where the concept goes (A1111's "
                    + "templates read like \"a photo of a [name], [filewords]\")")
        }
        return try images.map { image in
            let words = try fileWords(image)
            return templates.map {
                $0.replacingOccurrences(of: "[name]", with: "{}").replacingOccurrences(of: "[filewords]", with: words)
            }
        }
    }

    /// What `[filewords]` stands for with `image`.
    static func fileWords(_ image: URL) throws -> String {
        let captionFile = Concept.captionFile(image)
        if FileManager.default.fileExists(atPath: captionFile.path) {
            let text: String
            do { text = try FileAccess.readText(captionFile, limit: 1 << 20) } catch {
                throw InversionError("\(error)")
            }
            return text.split(whereSeparator: \.isNewline).map {
                $0.replacingOccurrences(of: "{}", with: "").trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }.joined(separator: ", ")
        }
        var name = image.deletingPathExtension().lastPathComponent
        while let first = name.first, first.isNumber || first == "-" { name.removeFirst() }
        return name.replacingOccurrences(of: "_", with: " ").trimmingCharacters(in: .whitespaces)
    }
}
