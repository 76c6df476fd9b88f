import Foundation

/// CLIP's pre-tokenizer, the pattern
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (case-insensitive), as a scanner over Unicode scalars. It splits exactly where the regular
/// expression does, code point by code point, as Python's `regex` splits for CLIP: a combining mark
/// after a letter starts a new word. (ICU's regular expressions through Foundation cost more than
/// the BPE that follows, and their ranges had to be rounded to whole characters.)
enum PreTokenizer {
    static let specials = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    static let contractions = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The words of cleaned, lower-cased text, in order.
    static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        var i = 0
        func word(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        while i < scalars.count {
            let scalar = scalars[i]
            // U+0345 (combining ypogegrammeni) folds to ι, so under the pattern's case-insensitivity it
            // is neither outside the letters nor a letter: Python's regex matches it nowhere.
            if isSpace(scalar) || scalar == "\u{345}" {
                i += 1
                continue
            }
            // The alternatives in the pattern's order: the first that matches here wins.
            if scalar == "<", let special = specials.first(where: { matches($0, at: i, in: scalars) }) {
                words.append(word(i..<(i + special.count)))
                i += special.count
            } else if scalar == "'",
                let ending = contractions.first(where: { matches($0, at: i + 1, in: scalars) })
            {
                words.append(word(i..<(i + 1 + ending.count)))
                i += 1 + ending.count
            } else if isLetter(scalar) {
                var end = i + 1
                while end < scalars.count && isLetter(scalars[end]) { end += 1 }
                words.append(word(i..<end))
                i = end
            } else if isNumber(scalar) {
                words.append(word(i..<(i + 1)))
                i += 1
            } else {
                var end = i + 1
                while end < scalars.count && isOther(scalars[end]) { end += 1 }
                words.append(word(i..<end))
                i = end
            }
        }
        return words
    }

    /// Whether `literal` (ASCII) is at `start`, ignoring case as the pattern does (Unicode case
    /// folding: `ſ` matches `s`).
    private static func matches(_ literal: [Unicode.Scalar], at start: Int, in scalars: [Unicode.Scalar]) -> Bool {
        guard start + literal.count <= scalars.count else { return false }
        for (offset, expected) in literal.enumerated() {
            let scalar = scalars[start + offset]
            if scalar == expected { continue }
            if scalar.isASCII {
                guard scalar.properties.lowercaseMapping == String(expected) else { return false }
            } else {
                guard String(scalar).folding(options: .caseInsensitive, locale: nil) == String(expected) else {
                    return false
                }
            }
        }
        return true
    }

    /// ICU's `\s`: tab, line feed, form feed, carriage return and the separators (`\p{Z}`).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\u{0C}", "\r", " ": return true
        default:
            guard !scalar.isASCII else { return false }
            switch scalar.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }

    /// Neither space, letter nor number: `[^\s\p{L}\p{N}]`.
    static func isOther(_ scalar: Unicode.Scalar) -> Bool {
        !isSpace(scalar) && !isLetter(scalar) && !isNumber(scalar) && scalar != "\u{345}"
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar >= "0" && scalar <= "9" }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
