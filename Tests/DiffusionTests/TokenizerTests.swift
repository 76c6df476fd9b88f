import Foundation
import TestSupport
import Testing

@testable import Diffusion

let fixtures = Fixtures.tests.appendingPathComponent("DiffusionTests/Fixtures")
let sdTiny = Fixtures.sdTiny

struct TokenizerCase: Decodable {
    var text: String
    var ids: [Int]
}

@Suite struct TokenizerTests {
    // Encoding only reads the tokenizer, so the parallel cases may share it.
    nonisolated(unsafe) static let tokenizer = Result {
        try CLIPTokenizer(folder: sdTiny.appendingPathComponent("tokenizer"))
    }

    static var cases: [TokenizerCase] {
        struct File: Decodable { var cases: [TokenizerCase] }
        let data = try? Fixtures.data("DiffusionTests/Fixtures/tokenizer-cases.json")
        return data.flatMap { try? JSONDecoder().decode(File.self, from: $0).cases } ?? []
    }

    @Test func theFixtureIsThere() {
        #expect(Self.cases.count == 40)
    }

    /// The 40 prompts tokenized by transformers' CLIPTokenizer (slow, with ftfy).
    @Test(arguments: cases)
    func matchesTransformers(_ example: TokenizerCase) throws {
        #expect(try Self.tokenizer.get().encode(example.text).ids == example.ids, "\(example.text)")
    }

    @Test func truncationIsReported() throws {
        let tokenizer = try Self.tokenizer.get()
        let long = tokenizer.encode(String(repeating: "word ", count: 100))
        #expect(long.truncated && long.ids.count == 77 && long.ids.last == tokenizer.endID)
        let short = tokenizer.encode("a photo of a cat")
        #expect(
            !short.truncated && short.length == 7
                && short.tokens == ["a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>"])
    }

    @Test func addedTokensAreWholeAndCaseSensitive() throws {
        let tokenizer = try CLIPTokenizer(folder: sdTiny.appendingPathComponent("tokenizer"))
        let id = try tokenizer.addToken("<cat-toy>")
        #expect(id == 49408)
        #expect(
            tokenizer.encode("A photo of <cat-toy>, big").ids.prefix(7) == [49406, 320, 1125, 539, 49408, 267, 1205])
        #expect(throws: TokenizerError.self) { try tokenizer.addToken("cat") }
        #expect(throws: TokenizerError.self) { try tokenizer.addToken("two words") }
    }

    @Test func decodeGivesBackTheText() throws {
        let tokenizer = try CLIPTokenizer(folder: sdTiny.appendingPathComponent("tokenizer"))
        try tokenizer.addToken("<cat-toy>")
        // Bytes mapped back (é is two byte-level characters), word ends as spaces, placeholders whole.
        let tokens = tokenizer.encode("A café with <cat-toy>on a mat!").tokens
        #expect(tokenizer.decode(tokens) == "a café with <cat-toy> on a mat !")
        #expect(tokenizer.decode(tokens.suffix(3)) == "a mat !")
        #expect(tokenizer.promptCapacity == 75)
    }

    @Test func cleanUpUnescapesHTMLAndFoldsWhitespace() {
        #expect(TextCleanup.clean("  Tom &amp; Jerry&#39;s\t\nSHOW ") == "tom & jerry's show")
        #expect(TextCleanup.clean("cafe\u{301}") == "café")
    }
}

extension TokenizerCase: CustomTestStringConvertible {
    var testDescription: String { String(text.prefix(40)) }
}

struct PreTokenizerCase: Decodable, CustomTestStringConvertible {
    var text: String
    var words: [String]
    var testDescription: String { text.debugDescription }
}

/// CLIP's pre-tokenizer pattern against Python's `regex` (fixture: make_pretokenizer_cases.py).
@Suite struct PreTokenizerTests {
    static var cases: [PreTokenizerCase] {
        struct File: Decodable { var cases: [PreTokenizerCase] }
        guard let data = try? Fixtures.data("DiffusionTests/Fixtures/pretokenizer-cases.json"),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return file.cases
    }

    @Test func theFixtureIsThere() {
        #expect(Self.cases.count == 400)
    }

    @Test(arguments: cases)
    func splitsAsPythonRegex(_ example: PreTokenizerCase) {
        #expect(PreTokenizer.split(example.text) == example.words)
    }

    /// Before: words were cut at whole characters, so a combining mark after a letter or a digit
    /// took the letter with it and left an empty word (and `'ſ` was not a contraction).
    @Test func combiningMarksAndCaseFolding() {
        #expect(PreTokenizer.split("ä\u{301}b") == ["ä", "\u{301}", "b"])
        #expect(PreTokenizer.split("1\u{FE0F}\u{20E3} x") == ["1", "\u{FE0F}\u{20E3}", "x"])
        #expect(PreTokenizer.split("it'ſ 'S") == ["it", "'ſ", "'S"])
        #expect(PreTokenizer.split("!<|endoftext|>") == ["!<|", "endoftext", "|>"])
        // U+0345 folds to a letter, so the case-insensitive pattern matches it nowhere (as Python's regex).
        #expect(PreTokenizer.split("a\u{345}b !\u{345}!") == ["a", "b", "!", "!"])
    }
}
