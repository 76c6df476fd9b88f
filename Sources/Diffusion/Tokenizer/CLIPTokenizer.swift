import Foundation
import Numerics
import Synchronization

public struct TokenizerError: Error, CustomStringConvertible {
    public let description: String
}

/// CLIP's byte-level BPE tokenizer, as transformers' `CLIPTokenizer` (with ftfy) tokenizes prompts
/// for Stable Diffusion: clean-up and lower-casing, CLIP's pre-tokenizer pattern, byte-level BPE with
/// `</w>` word ends, start and end tokens, padding and truncation to the context length.
public final class CLIPTokenizer {
    public private(set) var vocabulary: [String: Int]
    public private(set) var tokens: [Int: String]
    private let ranks: [Pair: Int]
    private let byteEncoder: [UInt8: Character]
    private let byteDecoder: [Character: UInt8]
    /// The BPE of words already seen, as CLIP's and transformers' tokenizers keep it (prompts
    /// repeat their words); bounded, and safe to share between threads that encode (adding a token
    /// while another thread encodes is not, as the vocabulary itself is not).
    private let cache = Mutex<[String: [Int]]>([:])
    static let cacheLimit = 10_000
    /// Tokens matched whole before any clean-up or BPE: the special tokens (start, end, pad; in
    /// SD 2.x folders the pad token is `!`) and added placeholders, as transformers splits them out.
    public private(set) var wholeTokens: [String] = []
    /// The placeholders added with `addToken`.
    public private(set) var addedTokens: [String] = []
    public let startID: Int, endID: Int, padID: Int
    public let contextLength: Int
    /// How many of a prompt's tokens the text encoder reads: the context less start and end.
    public var promptCapacity: Int { contextLength - 2 }

    struct Pair: Hashable { let a: String, b: String }

    public init(
        vocabulary: [String: Int], merges: [(String, String)], padToken: String = "<|endoftext|>",
        contextLength: Int = 77
    ) throws {
        self.vocabulary = vocabulary
        tokens = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var ranks: [Pair: Int] = [:]
        for (rank, merge) in merges.enumerated() where ranks[Pair(a: merge.0, b: merge.1)] == nil {
            ranks[Pair(a: merge.0, b: merge.1)] = rank
        }
        self.ranks = ranks
        byteEncoder = Self.bytesToUnicode()
        byteDecoder = Dictionary(uniqueKeysWithValues: byteEncoder.map { ($1, $0) })
        guard let start = vocabulary["<|startoftext|>"], let end = vocabulary["<|endoftext|>"] else {
            throw TokenizerError(description: "the vocabulary has no <|startoftext|> or <|endoftext|> token")
        }
        guard let pad = vocabulary[padToken] else {
            throw TokenizerError(description: "the pad token \(padToken) is not in the vocabulary")
        }
        startID = start
        endID = end
        padID = pad
        self.contextLength = contextLength
        wholeTokens = Array(Set(["<|startoftext|>", "<|endoftext|>", padToken]))
    }

    /// GPT-2's reversible map from bytes to printable characters, so BPE works on strings.
    static func bytesToUnicode() -> [UInt8: Character] {
        var printable =
            Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(UInt8(0xA1)...UInt8(0xAC))
            + Array(UInt8(0xAE)...UInt8(0xFF))
        var codes = printable.map { UInt32($0) }
        var next: UInt32 = 256
        for byte in UInt8.min...UInt8.max where !printable.contains(byte) {
            printable.append(byte)
            codes.append(next)
            next += 1
        }
        var map: [UInt8: Character] = [:]
        for (byte, code) in zip(printable, codes) { map[byte] = Character(Unicode.Scalar(code)!) }
        return map
    }

    public struct Encoding: Equatable, Sendable {
        /// Start, the tokens, end, then padding: exactly `contextLength` ids.
        public var ids: [Int]
        /// The prompt's tokens as strings (without start, end and padding), before truncation.
        public var tokens: [String]
        public var truncated: Bool
        /// How many ids are real (start + tokens + end), the rest being padding.
        public var length: Int
    }

    public func encode(_ text: String) -> Encoding {
        let body = tokenize(text)
        let room = promptCapacity
        let kept = Array(body.prefix(room))
        var ids = [startID] + kept + [endID]
        let length = ids.count
        ids += Array(repeating: padID, count: contextLength - ids.count)
        return Encoding(ids: ids, tokens: body.map { tokens[$0] ?? "?" }, truncated: body.count > room, length: length)
    }

    /// The ids of a prompt, without start and end tokens or padding.
    public func tokenize(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitOnAddedTokens(text) {
            if case .added(let token) = segment {
                ids.append(vocabulary[token]!)
                continue
            }
            guard case .text(let piece) = segment else { continue }
            for word in PreTokenizer.split(TextCleanup.clean(piece)) {
                if let special = vocabulary[word], word == "<|startoftext|>" || word == "<|endoftext|>" {
                    ids.append(special)
                    continue
                }
                ids += bpe(String(word.utf8.map { byteEncoder[$0]! }))
            }
        }
        return ids
    }

    enum Segment {
        case text(String)
        case added(String)
    }

    /// Splits out added tokens (longest first), as transformers' added-tokens trie does.
    private func splitOnAddedTokens(_ text: String) -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(text)
        let byLength = wholeTokens.sorted { $0.count > $1.count }
        outer: while !rest.isEmpty {
            var earliest: (Range<Substring.Index>, String)?
            for token in byLength {
                if let range = rest.range(of: token), earliest == nil || range.lowerBound < earliest!.0.lowerBound {
                    earliest = (range, token)
                }
            }
            guard let (range, token) = earliest else {
                segments.append(.text(String(rest)))
                break outer
            }
            if range.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<range.lowerBound]))) }
            segments.append(.added(token))
            rest = rest[range.upperBound...]
        }
        return segments
    }

    /// Byte-pair merges of one pre-token (already mapped to printable characters).
    private func bpe(_ word: String) -> [Int] {
        if let known = cache.withLock({ $0[word] }) { return known }
        let ids = merge(word)
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[word] = ids
        }
        return ids
    }

    private func merge(_ word: String) -> [Int] {
        var parts = word.map(String.init)
        guard !parts.isEmpty else { return [] }
        parts[parts.count - 1] += "</w>"
        while parts.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(parts.count - 1) {
                if let rank = ranks[Pair(a: parts[i], b: parts[i + 1])], best == nil || rank < best!.rank {
                    best = (rank, i)
                }
            }
            guard let (_, _) = best else { break }
            let pair = Pair(a: parts[best!.index], b: parts[best!.index + 1])
            // Merge every occurrence of the best pair, left to right.
            var merged: [String] = []
            var i = 0
            while i < parts.count {
                if i < parts.count - 1 && parts[i] == pair.a && parts[i + 1] == pair.b {
                    merged.append(pair.a + pair.b)
                    i += 2
                } else {
                    merged.append(parts[i])
                    i += 1
                }
            }
            parts = merged
        }
        return parts.map { vocabulary[$0] ?? endID }
    }

    /// Text for BPE tokens (as `Encoding.tokens` holds them): bytes mapped back, `</w>` as a space,
    /// whole tokens such as placeholders followed by a space, as transformers' decode does.
    public func decode<Tokens: Sequence<String>>(_ tokens: Tokens) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            if wholeTokens.contains(token) {
                bytes += Array(token.utf8) + [0x20]
                continue
            }
            let word = token.hasSuffix("</w>") ? token.dropLast(4) : Substring(token)
            bytes += word.compactMap { byteDecoder[$0] }
            if token.hasSuffix("</w>") { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// Adds a whole token (a textual-inversion placeholder such as `<cat-toy>`); returns its id.
    /// A token already in the vocabulary is an error: its embedding is not ours to learn.
    @discardableResult
    public func addToken(_ token: String) throws -> Int {
        guard !token.isEmpty, !token.contains(where: { $0.isWhitespace }) else {
            throw TokenizerError(
                description: "a placeholder token must be a non-empty word without spaces, not \"\(token)\"")
        }
        guard vocabulary[token] == nil else {
            throw TokenizerError(
                description:
                    "\(token) is already in the vocabulary; choose another placeholder such as "
                    + "<\(token.trimmingCharacters(in: CharacterSet(charactersIn: "<>")))-1>"
            )
        }
        let id = vocabulary.count
        vocabulary[token] = id
        // A cached BPE may hold a part that is now a token.
        cache.withLock { $0.removeAll() }
        tokens[id] = token
        addedTokens.append(token)
        wholeTokens.append(token)
        return id
    }

    // MARK: - Loading

    /// Reads a tokenizer folder: `vocab.json` + `merges.txt`, or `tokenizer.json`; the pad token
    /// from `tokenizer_config.json` or `special_tokens_map.json`.
    public convenience init(folder: URL) throws {
        func json(_ name: String) -> [String: Any]? {
            guard let data = try? FileAccess.read(folder.appendingPathComponent(name), limit: 256 << 20) else {
                return nil
            }
            return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
        func tokenName(_ value: Any?) -> String? {
            if let s = value as? String { return s }
            return (value as? [String: Any])?["content"] as? String
        }
        let config = json("tokenizer_config.json") ?? [:]
        let specials = json("special_tokens_map.json") ?? [:]
        let pad = tokenName(config["pad_token"]) ?? tokenName(specials["pad_token"]) ?? "<|endoftext|>"
        let length = (config["model_max_length"] as? Int).flatMap { $0 > 0 && $0 < 100_000 ? $0 : nil } ?? 77

        let vocabURL = folder.appendingPathComponent("vocab.json")
        let mergesURL = folder.appendingPathComponent("merges.txt")
        if FileManager.default.fileExists(atPath: vocabURL.path), FileManager.default.fileExists(atPath: mergesURL.path)
        {
            guard let vocab = json("vocab.json") as? [String: Int] else {
                throw TokenizerError(description: "\(vocabURL.path) is not a JSON object of token ids")
            }
            let text: String
            do { text = try FileAccess.readText(mergesURL) } catch {
                throw TokenizerError(description: "\(error) (merges.txt holds one merge, two tokens, per line)")
            }
            let merges = text.split(separator: "\n").filter { !$0.hasPrefix("#version") }.compactMap {
                line -> (String, String)? in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
            try self.init(vocabulary: vocab, merges: merges, padToken: pad, contextLength: length)
            return
        }
        guard let fast = json("tokenizer.json") else {
            throw TokenizerError(description: "\(folder.path) has neither vocab.json + merges.txt nor tokenizer.json")
        }
        guard let model = fast["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int],
            let rawMerges = model["merges"] as? [Any]
        else {
            throw TokenizerError(description: "\(folder.path)/tokenizer.json has no BPE model with vocab and merges")
        }
        let merges = rawMerges.compactMap { item -> (String, String)? in
            if let line = item as? String {
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
            if let pair = item as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            return nil
        }
        var vocabulary = vocab
        for added in fast["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = added["content"] as? String, let id = added["id"] as? Int { vocabulary[content] = id }
        }
        try self.init(vocabulary: vocabulary, merges: merges, padToken: pad, contextLength: length)
    }
}
