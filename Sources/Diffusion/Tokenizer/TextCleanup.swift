import Foundation

/// The text clean-up CLIP's tokenizer applies before splitting: what `ftfy.fix_text`,
/// `html.unescape` (twice) and `whitespace_clean` do to prompts, then lower-casing.
enum TextCleanup {
    static func clean(_ text: String) -> String {
        var s = text
        // ftfy: curly quotes become straight ones, control characters go, NFC composition.
        s = String(
            s.unicodeScalars.compactMap { scalar -> Character? in
                switch scalar {
                case "\u{2018}", "\u{2019}", "\u{201A}", "\u{201B}": return "'"
                case "\u{201C}", "\u{201D}", "\u{201E}", "\u{201F}": return "\""
                default:
                    if scalar.properties.generalCategory == .control && !" \t\n\r".unicodeScalars.contains(scalar) {
                        return nil
                    }
                    return Character(scalar)
                }
            })
        s = s.precomposedStringWithCanonicalMapping
        s = unescapeHTML(unescapeHTML(s))
        // Runs of whitespace become one space; ends are trimmed.
        s = s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return s.lowercased()
    }

    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "copy": "©", "reg": "®",
        "hellip": "…", "mdash": "—", "ndash": "–", "laquo": "«", "raquo": "»", "deg": "°", "eacute": "é"
    ]

    /// `&amp;`, `&#39;`, `&#x27;` and the common named entities.
    static func unescapeHTML(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semicolon = after.prefix(12).firstIndex(of: ";") {
                let name = String(after[..<semicolon])
                var replacement: String?
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    replacement = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map {
                        String(Character($0))
                    }
                } else if name.hasPrefix("#") {
                    replacement = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else {
                    replacement = namedEntities[name]
                }
                if let replacement {
                    out += replacement
                    rest = after[after.index(after: semicolon)...]
                    continue
                }
            }
            out += "&"
            rest = after
        }
        return out + rest
    }
}
