import Foundation
import Graphics
import Numerics

/// google/dreambooth's dataset as it is downloaded, read as a benchmark: `dataset/<subject>/*.jpg` and
/// `dataset/prompts_and_classes.txt`, which lists each subject's class ("subject_name,class" lines under
/// "Classes") and two prompt lists written as Python (`'a {0} {1} in the jungle'.format(unique_token,
/// class_token),`) under "Object Prompts" and "Live Subject Prompts".
///
/// Each subject becomes a benchmark subject: its images; its init word, the class (a class of several
/// words, such as "stuffed animal", starts from its last word, the head noun: "animal"); its evaluation
/// prompts, the live list for the dog and cat classes and the object list for the rest (as the dataset's
/// README assigns them), with the placeholder for {0} and the class word kept after it for {1}, as in
/// DreamBooth's prompts ("a {} dog in the jungle").
public enum DreamBoothLayout {
    public static let fileName = "prompts_and_classes.txt"
    /// The classes the dataset calls live subjects.
    public static let liveClasses: Set<String> = ["dog", "cat"]

    public static func isLayout(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(fileName).path)
    }

    public static func read(_ folder: URL) throws -> [BenchmarkSubject] {
        let url = folder.appendingPathComponent(fileName)
        let text: String
        do { text = try FileAccess.readText(url, limit: 1 << 20) } catch { throw InversionError("\(error)") }
        let parsed = try parse(text, source: displayPath(url))
        var missing: [String] = []
        var subjects: [BenchmarkSubject] = []
        for (slug, className) in parsed.classes {
            let images: [URL]
            do { images = try ImageFile.imageFiles(inFolder: folder.appendingPathComponent(slug)) } catch {
                missing.append(slug)
                continue
            }
            guard !images.isEmpty else {
                missing.append(slug)
                continue
            }
            let prompts = liveClasses.contains(className) ? parsed.livePrompts : parsed.objectPrompts
            subjects.append(
                BenchmarkSubject(
                    slug: slug, codePoint: "", name: "\(slug) (\(className))",
                    initWord: String(className.split(separator: " ").last ?? ""),
                    images: images.map(\.lastPathComponent),
                    captions: [], prompts: prompts.map { $0.replacingOccurrences(of: "{1}", with: className) }))
        }
        guard missing.isEmpty else {
            throw InversionError(
                "\(displayPath(url)) lists subjects with no folder of images beside it: "
                    + "\(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : ""); download the "
                    + "whole dataset/ folder, or write a subjects.json of your own")
        }
        return subjects
    }

    /// The classes in their order and the two prompt lists, `{}` for {0} and {1} left for the class.
    static func parse(
        _ text: String, source: String
    ) throws -> (classes: [(String, String)], objectPrompts: [String], livePrompts: [String]) {
        var section = ""
        var classes: [(String, String)] = []
        var lists: [String: [String]] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if ["Classes", "Prompts", "Object Prompts", "Live Subject Prompts"].contains(line) {
                section = line
                continue
            }
            if line.isEmpty || line.hasPrefix("prompt_list") || line == "]" || line == "subject_name,class" { continue }
            switch section {
            case "Classes":
                let fields = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == 2, !fields[0].isEmpty, !fields[0].contains("/"), !fields[1].isEmpty else {
                    throw InversionError("\(source): \"\(line)\" under Classes is not a subject_name,class line")
                }
                classes.append((fields[0], fields[1]))
            case "Object Prompts", "Live Subject Prompts":
                guard let prompt = quoted(line), prompt.contains("{0}") else {
                    throw InversionError(
                        "\(source): \"\(line)\" under \(section) is not a prompt such as "
                            + "'a {0} {1} in the jungle'.format(unique_token, class_token),")
                }
                lists[section, default: []].append(prompt.replacingOccurrences(of: "{0}", with: "{}"))
            default: continue
            }
        }
        guard !classes.isEmpty, let object = lists["Object Prompts"], let live = lists["Live Subject Prompts"] else {
            throw InversionError(
                "\(source) is not google/dreambooth's prompts_and_classes.txt: it needs a Classes list and the "
                    + "Object Prompts and Live Subject Prompts lists")
        }
        guard Set(classes.map(\.0)).count == classes.count else {
            throw InversionError("\(source) lists a subject twice under Classes")
        }
        return (classes, object, live)
    }

    /// The string literal at the start of a line (single or double quotes).
    static func quoted(_ line: String) -> String? {
        guard let quote = line.first, quote == "'" || quote == "\"" else { return nil }
        let rest = line.dropFirst()
        guard let end = rest.firstIndex(of: quote) else { return nil }
        return String(rest[..<end])
    }
}
