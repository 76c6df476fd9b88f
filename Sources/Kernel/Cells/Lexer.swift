/// Where something is in a cell: 1-based line and column, and the offset in Unicode scalars
/// from the start of the cell (the unit of Jupyter cursor positions).
public struct SourcePosition: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public var offset: Int
}

/// One word of a command line. `text` is the value after unquoting; `start`/`end` span the raw source.
public struct Token: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case word
        case quoted
        /// `key=value`; the value is in `text`, quoted or not.
        case option(key: String, quotedValue: Bool)
    }
    public var kind: Kind
    public var text: String
    public var start: SourcePosition
    public var end: SourcePosition
}

public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case unterminatedString
        case badEscape(String)
        case optionWithoutName
        case optionWithoutValue(String)
        case badOptionName(String)
        case missingSpaceAfterQuote
    }
    public var reason: Reason
    public var position: SourcePosition

    public var message: String {
        switch reason {
        case .unterminatedString: return "this string has no closing quote"
        case .badEscape(let s): return "unknown escape \\\(s) (use \\\", \\\\, \\n, \\t, \\r or \\u{hex})"
        case .optionWithoutName: return "an option needs a name before `=` (write key=value)"
        case .optionWithoutValue(let key): return "option `\(key)` needs a value after `=`"
        case .badOptionName(let key):
            return "`\(key)` is not an option name (names are letters, digits, `_` and `-`)"
        case .missingSpaceAfterQuote: return "put a space after the closing quote"
        }
    }
    public var description: String { "line \(position.line), column \(position.column): \(message)" }
}

/// Splits a cell into lines of tokens. Strings may span lines; `#` starts a comment at a word
/// boundary; a word containing `=` is an option.
public struct Lexer {
    public struct Line: Equatable, Sendable {
        public var number: Int
        public var tokens: [Token]
    }

    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    public init(_ source: String) {
        scalars = Array(source.unicodeScalars)
    }

    public static func lines(_ source: String) throws(SyntaxError) -> [Line] {
        var lexer = Lexer(source)
        return try lexer.run()
    }

    private var position: SourcePosition { SourcePosition(line: line, column: index - lineStart + 1, offset: index) }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private mutating func run() throws(SyntaxError) -> [Line] {
        var lines: [Line] = []
        var current: [Token] = []
        var currentLine = 1
        func finish() {
            if !current.isEmpty { lines.append(Line(number: currentLine, tokens: current)) }
            current = []
        }
        while index < scalars.count {
            let c = scalars[index]
            if c == "\n" {
                finish()
                advance()
                currentLine = line
            } else if c == " " || c == "\t" || c == "\r" {
                advance()
            } else if c == "#" {
                while index < scalars.count && scalars[index] != "\n" { advance() }
            } else {
                if current.isEmpty { currentLine = line }
                current.append(try token())
            }
        }
        finish()
        return lines
    }

    private static func isBoundary(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }

    private mutating func token() throws(SyntaxError) -> Token {
        let start = position
        if scalars[index] == "\"" {
            let text = try quoted()
            return Token(kind: .quoted, text: text, start: start, end: position)
        }
        var word = ""
        while index < scalars.count && !Self.isBoundary(scalars[index]) {
            let c = scalars[index]
            if c == "=" {
                return try option(key: word, start: start)
            }
            if c == "\"" { break }
            word.unicodeScalars.append(c)
            advance()
        }
        if index < scalars.count && scalars[index] == "\"" {
            // `abc"def"`: a quote glued to a word is almost always a typo.
            throw SyntaxError(reason: .missingSpaceAfterQuote, position: position)
        }
        return Token(kind: .word, text: word, start: start, end: position)
    }

    private mutating func option(key: String, start: SourcePosition) throws(SyntaxError) -> Token {
        guard !key.isEmpty else { throw SyntaxError(reason: .optionWithoutName, position: start) }
        guard
            key.unicodeScalars.allSatisfy({
                $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            })
        else { throw SyntaxError(reason: .badOptionName(key), position: start) }
        advance()  // "="
        if index < scalars.count && scalars[index] == "\"" {
            let value = try quoted()
            return Token(kind: .option(key: key, quotedValue: true), text: value, start: start, end: position)
        }
        var value = ""
        while index < scalars.count && !Self.isBoundary(scalars[index]) {
            if scalars[index] == "\"" { throw SyntaxError(reason: .missingSpaceAfterQuote, position: position) }
            value.unicodeScalars.append(scalars[index])
            advance()
        }
        guard !value.isEmpty else { throw SyntaxError(reason: .optionWithoutValue(key), position: start) }
        return Token(kind: .option(key: key, quotedValue: false), text: value, start: start, end: position)
    }

    /// Reads `"…"` starting at the opening quote.
    private mutating func quoted() throws(SyntaxError) -> String {
        let open = position
        advance()
        var text = ""
        while index < scalars.count {
            let c = scalars[index]
            if c == "\"" {
                advance()
                if index < scalars.count && !Self.isBoundary(scalars[index]) && scalars[index] != "#" {
                    throw SyntaxError(reason: .missingSpaceAfterQuote, position: position)
                }
                return text
            }
            if c == "\\" {
                let escape = position
                advance()
                guard index < scalars.count else { break }
                let e = scalars[index]
                switch e {
                case "\"", "\\": text.unicodeScalars.append(e)
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "u":
                    text.unicodeScalars.append(try unicodeEscape(at: escape))
                    continue
                default: throw SyntaxError(reason: .badEscape(String(e)), position: escape)
                }
                advance()
                continue
            }
            text.unicodeScalars.append(c)
            advance()
        }
        throw SyntaxError(reason: .unterminatedString, position: open)
    }

    /// `\u{1F600}`: the index is on the `u`.
    private mutating func unicodeEscape(at escape: SourcePosition) throws(SyntaxError) -> Unicode.Scalar {
        advance()
        guard index < scalars.count, scalars[index] == "{" else {
            throw SyntaxError(reason: .badEscape("u (write \\u{hex})"), position: escape)
        }
        advance()
        var hex = ""
        while index < scalars.count && scalars[index] != "}" && hex.count <= 8 {
            hex.unicodeScalars.append(scalars[index])
            advance()
        }
        guard index < scalars.count, scalars[index] == "}", let value = UInt32(hex, radix: 16),
            let scalar = Unicode.Scalar(value)
        else { throw SyntaxError(reason: .badEscape("u{\(hex)}"), position: escape) }
        advance()
        return scalar
    }
}
