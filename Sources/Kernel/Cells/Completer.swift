import Foundation
import Jupyter

/// Completion and inspection at a cursor, both driven by the registry. Offsets are Unicode scalars.
struct Completer {
    let registry: CommandRegistry
    /// Placeholder tokens (such as `<S*>`) that prompts may use, offered inside text.
    let placeholders: () -> [String]

    /// What the line looks like up to the cursor.
    struct LinePrefix {
        var words: [String] = []  // completed words, unquoted
        var fragment = ""  // the word being typed, unquoted
        var fragmentStart = 0  // where the replacement starts
        var inQuote = false
        /// Whether `fragmentStart` is already at an option's quoted value (`key="…`), past the key.
        var startsAtValue = false
    }

    func scan(_ scalars: [Unicode.Scalar], to cursor: Int) -> LinePrefix {
        var start = cursor
        while start > 0 && scalars[start - 1] != "\n" { start -= 1 }
        var prefix = LinePrefix(fragmentStart: start)
        var index = start
        var inWord = false
        while index < cursor {
            let c = scalars[index]
            if prefix.inQuote {
                if c == "\\" && index + 1 < cursor {
                    index += 1
                    prefix.fragment.unicodeScalars.append(scalars[index])
                } else if c == "\"" {
                    prefix.inQuote = false
                } else {
                    prefix.fragment.unicodeScalars.append(c)
                }
            } else if c == " " || c == "\t" {
                if inWord { prefix.words.append(prefix.fragment) }
                inWord = false
                prefix.fragment = ""
            } else if c == "#" && !inWord {
                return LinePrefix(words: ["#"], fragmentStart: cursor)
            } else {
                if !inWord { prefix.fragmentStart = index }
                inWord = true
                if c == "\"" {
                    prefix.inQuote = true
                    if prefix.fragment.hasSuffix("=") || prefix.fragment.isEmpty {
                        prefix.startsAtValue = !prefix.fragment.isEmpty
                        prefix.fragmentStart = index + 1
                    }
                } else {
                    prefix.fragment.unicodeScalars.append(c)
                }
            }
            index += 1
        }
        return prefix
    }

    func complete(code: String, cursor: Int) -> Completion {
        let scalars = Array(code.unicodeScalars)
        let cursor = min(max(cursor, 0), scalars.count)
        let line = scan(scalars, to: cursor)
        var start = line.fragmentStart
        let fragment = line.fragment
        var matches: [String] = []

        if line.words.first == "#" {
            matches = []
        } else if line.words.isEmpty {
            matches = registry.names.filter { $0.hasPrefix(fragment) }
        } else if var spec = registry[line.words[0]] {
            // A finished first word that names a form of the command: complete that form.
            var skip = 1
            if line.words.count > 1, let form = spec.subcommand(line.words[1]) {
                spec = form
                skip = 2
            }
            if let equals = fragment.firstIndex(of: "="), !line.inQuote || fragment.contains("=") {
                let key = String(fragment[..<equals])
                let value = String(fragment[fragment.index(after: equals)...])
                if let option = spec.option(named: key) {
                    if !line.startsAtValue { start += key.unicodeScalars.count + 1 }
                    matches = values(of: option.kind, prefix: value)
                }
            } else {
                let positional = line.words.dropFirst(skip).filter { !$0.contains("=") }.count
                if positional == 0 && skip == 1 {
                    matches = spec.subcommands.map(\.word).filter { $0.hasPrefix(fragment) }
                }
                if let argument = spec.argument(at: positional) {
                    matches += values(of: argument.kind, prefix: fragment)
                }
                if !line.inQuote {
                    let used = Set(line.words.compactMap { $0.split(separator: "=").first.map(String.init) })
                    matches += spec.options.map { $0.name + "=" }.filter {
                        $0.hasPrefix(fragment) && !used.contains(String($0.dropLast()))
                    }
                }
            }
        }
        // Inside a word that has `<`, offer placeholder tokens for the part from `<` on.
        if matches.isEmpty, let angle = fragment.lastIndex(of: "<") {
            let partial = String(fragment[angle...])
            let offset = fragment[..<angle].unicodeScalars.count
            let found = placeholders().filter { $0.hasPrefix(partial) }
            if !found.isEmpty { return Completion(matches: found, cursorStart: start + offset, cursorEnd: cursor) }
        }
        return Completion(matches: matches, cursorStart: start, cursorEnd: cursor)
    }

    private func values(of kind: ValueKind, prefix: String) -> [String] {
        switch kind {
        case .command: return registry.names.filter { $0.hasPrefix(prefix) }
        case .choice(let choices): return choices.filter { $0.hasPrefix(prefix) }
        case .path(let extensions): return paths(prefix: prefix, extensions: extensions)
        case .keyword(let word): return word.hasPrefix(prefix) ? [word] : []
        case .text, .integer, .number: return []
        }
    }

    /// Files and folders that complete `prefix`; folders end with `/`.
    func paths(prefix: String, extensions: [String]) -> [String] {
        let slash = prefix.lastIndex(of: "/")
        let folderPart = slash.map { String(prefix[...$0]) } ?? ""
        let namePart = slash.map { String(prefix[prefix.index(after: $0)...]) } ?? prefix
        let folder =
            folderPart.isEmpty
            ? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            : resolvePath(folderPart)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var result: [String] = []
        for name in names.sorted() where name.hasPrefix(namePart) {
            if name.hasPrefix(".") && !namePart.hasPrefix(".") { continue }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(
                atPath: folder.appendingPathComponent(name).path,
                isDirectory: &isDirectory)
            if exists && isDirectory.boolValue {
                result.append(folderPart + name + "/")
            } else if extensions.isEmpty || extensions.contains((name as NSString).pathExtension.lowercased()) {
                result.append(folderPart + name)
            }
        }
        return result
    }

    func inspect(code: String, cursor: Int) -> Inspection {
        let scalars = Array(code.unicodeScalars)
        let cursor = min(max(cursor, 0), scalars.count)
        var lineStart = cursor
        while lineStart > 0 && scalars[lineStart - 1] != "\n" { lineStart -= 1 }
        var lineEnd = cursor
        while lineEnd < scalars.count && scalars[lineEnd] != "\n" { lineEnd += 1 }
        let line = String(String.UnicodeScalarView(scalars[lineStart..<lineEnd]))
        // The word under (or just before) the cursor.
        var wordStart = cursor
        var wordEnd = cursor
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
        while wordStart > lineStart && !isSpace(scalars[wordStart - 1]) { wordStart -= 1 }
        while wordEnd < lineEnd && !isSpace(scalars[wordEnd]) { wordEnd += 1 }
        let word = String(String.UnicodeScalarView(scalars[wordStart..<wordEnd])).trimmingQuestionMarks()
        let lineWords = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
            String($0).trimmingQuestionMarks()
        }
        var spec = lineWords.first.flatMap { registry[$0] }
        if lineWords.count > 1, let form = spec?.subcommand(lineWords[1]) { spec = form }

        if let key = word.split(separator: "=").first.map(String.init), word.contains("="),
            let spec, let option = spec.option(named: key)
        {
            return Inspection(found: true, data: ["text/plain": HelpText.option(option, of: spec)])
        }
        if let named = registry[word] {
            return Inspection(found: true, data: helpData(named))
        }
        if let spec { return Inspection(found: true, data: helpData(spec)) }
        return .notFound
    }

    private func helpData(_ spec: CommandSpec) -> [String: String] {
        HelpText.command(spec).compactMapValues(\.string)
    }
}
