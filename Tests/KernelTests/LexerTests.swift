import Testing

@testable import Kernel

@Suite struct LexerTests {
    func texts(_ source: String) throws -> [[String]] {
        try Lexer.lines(source).map { $0.tokens.map(\.text) }
    }

    @Test func wordsStringsOptionsAndComments() throws {
        #expect(
            try texts("step 200  # go\n\n# only a comment\ngenerate \"a photo of <S*>\" seed=3")
                == [["step", "200"], ["generate", "a photo of <S*>", "3"]])
        let option = try Lexer.lines("x key=\"v w\"")[0].tokens[1]
        #expect(option.kind == .option(key: "key", quotedValue: true))
        #expect(option.text == "v w")
    }

    @Test func escapes() throws {
        #expect(try texts(#"print "a\"b\\c\n\t\u{1F600}""#) == [["print", "a\"b\\c\n\t😀"]])
    }

    @Test func stringsMaySpanLines() throws {
        let lines = try Lexer.lines("print \"one\ntwo\"\nversion")
        #expect(lines.map(\.number) == [1, 3])
        #expect(lines[0].tokens[1].text == "one\ntwo")
    }

    @Test func positionsCountUnicodeScalars() throws {
        let token = try Lexer.lines("print é \"x\"")[0].tokens[2]
        #expect(token.start == SourcePosition(line: 1, column: 9, offset: 8))
    }

    @Test(arguments: [
        ("print \"abc", SyntaxError.Reason.unterminatedString, 7),
        ("print \"a\\q\"", .badEscape("q"), 9),
        ("=oops", .optionWithoutName, 1),
        ("step n=", .optionWithoutValue("n"), 6),
        ("print \"a\"b", .missingSpaceAfterQuote, 10),
        ("a.b=1", .badOptionName("a.b"), 1),
        ("print \"\\u{zz}\"", .badEscape("u{zz}"), 8)
    ])
    func errorsSayWhatAndWhere(source: String, reason: SyntaxError.Reason, column: Int) {
        #expect {
            try Lexer.lines(source)
        } throws: { error in
            guard let error = error as? SyntaxError else { return false }
            return error.reason == reason && error.position.column == column && error.position.line == 1
        }
    }
}
