import Foundation
import Numerics

/// A `config.json` of a diffusers or transformers model. Every read names the key, so an
/// unsupported value is an error that says which key and what is supported, never a guess.
public struct ConfigFile {
    public let url: URL
    public let values: [String: Any]

    public init(_ url: URL) throws {
        self.url = url
        let data: Data
        do { data = try FileAccess.read(url, limit: Self.maxBytes) } catch {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ModelError("\(url.path): missing (a model folder needs this config file)")
            }
            throw ModelError(String(describing: error))
        }
        guard let values = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("\(url.path): not a JSON object")
        }
        self.values = values
    }

    /// Real configs are kilobytes.
    static let maxBytes = 16 << 20

    public init(values: [String: Any], url: URL = URL(fileURLWithPath: "config.json")) {
        self.url = url
        self.values = values
    }

    func fail(_ key: String, _ why: String) -> ModelError { ModelError("\(url.path): \(key): \(why)") }

    private func present(_ key: String) -> Any? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        return value
    }

    public func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        guard let value = present(key) else {
            if let fallback { return fallback }
            throw fail(key, "missing")
        }
        guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue) else {
            throw fail(key, "expected a whole number, found \(value)")
        }
        return integer
    }

    /// A whole number that sizes the model, so it must lie in `range` (a zero head count divides
    /// by zero, a negative size traps when tensors are made).
    public func int(_ key: String, default fallback: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
        let value = try int(key, default: fallback)
        guard range.contains(value) else {
            throw fail(key, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    /// A finite number in `range`.
    public func double(_ key: String, default fallback: Double? = nil, in range: ClosedRange<Double>) throws -> Double {
        let value = try double(key, default: fallback)
        guard value.isFinite, range.contains(value) else {
            throw fail(key, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    /// Whole numbers, each in `range`, at least one.
    public func ints(_ key: String, in range: ClosedRange<Int>) throws -> [Int] {
        let values = try ints(key)
        guard !values.isEmpty else { throw fail(key, "the list is empty") }
        for value in values where !range.contains(value) {
            throw fail(key, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return values
    }

    /// `intOrInts`, each value in `range`.
    public func intOrInts(_ key: String, count: Int, default fallback: Int? = nil, in range: ClosedRange<Int>) throws
        -> [Int]
    {
        let values = try intOrInts(key, count: count, default: fallback)
        for value in values where !range.contains(value) {
            throw fail(key, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return values
    }

    public func double(_ key: String, default fallback: Double? = nil) throws -> Double {
        guard let value = present(key) else {
            if let fallback { return fallback }
            throw fail(key, "missing")
        }
        guard let number = value as? NSNumber else { throw fail(key, "expected a number, found \(value)") }
        return number.doubleValue
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = present(key) else { return fallback }
        guard let flag = value as? Bool else { throw fail(key, "expected true or false, found \(value)") }
        return flag
    }

    public func string(_ key: String, default fallback: String? = nil) throws -> String {
        guard let value = present(key) else {
            if let fallback { return fallback }
            throw fail(key, "missing")
        }
        guard let text = value as? String else { throw fail(key, "expected a string, found \(value)") }
        return text
    }

    /// A string that must be one of `supported`.
    public func choice(_ key: String, _ supported: [String], default fallback: String? = nil) throws -> String {
        let value = try string(key, default: fallback)
        guard supported.contains(value) else {
            throw fail(
                key,
                "\"\(value)\" is not supported (gradti supports "
                    + "\(supported.map { "\"\($0)\"" }.joined(separator: ", ")))"
            )
        }
        return value
    }

    public func ints(_ key: String) throws -> [Int] {
        guard let list = present(key) as? [Any] else { throw fail(key, "expected a list of whole numbers") }
        return try list.map { item in
            guard let number = item as? NSNumber, let integer = Int(exactly: number.doubleValue) else {
                throw fail(key, "expected whole numbers, found \(item)")
            }
            return integer
        }
    }

    /// A number or a list with one number per block (diffusers allows both for head sizes).
    public func intOrInts(_ key: String, count: Int, default fallback: Int? = nil) throws -> [Int] {
        if let list = present(key) as? [Any] {
            let values = try ints(key)
            guard values.count == count else {
                throw fail(key, "expected \(count) values, one per block, found \(list.count)")
            }
            return values
        }
        return Array(repeating: try int(key, default: fallback), count: count)
    }

    public func strings(_ key: String) throws -> [String] {
        guard let list = present(key) as? [Any] else { throw fail(key, "expected a list of strings") }
        return try list.map { item in
            guard let text = item as? String else { throw fail(key, "expected strings, found \(item)") }
            return text
        }
    }

    /// Keys that must be absent or hold one of the given harmless values (features gradti lacks).
    public func requireDefault(_ key: String, _ allowed: [Any?]) throws {
        guard let value = present(key) else { return }
        for candidate in allowed {
            if let candidate, "\(candidate)" == "\(value)" { return }
        }
        throw fail(key, "the value \(value) needs a feature gradti does not implement")
    }
}
