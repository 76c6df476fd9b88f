import Foundation

public struct SafeTensorsError: Error, CustomStringConvertible {
    public let description: String
    init(_ url: URL, _ why: String, tensor: String? = nil) {
        description = "\(url.path)" + (tensor.map { ": tensor \"\($0)\"" } ?? "") + ": \(why)"
    }
    init(_ error: FileError) { description = error.description }
}

/// A safetensors file (huggingface's format: an 8-byte little-endian header length, a JSON header
/// of names → dtype, shape and data offsets, then the bytes), memory-mapped and checked on open.
public final class SafeTensorsFile {
    public struct Entry: Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range within the data section.
        public var begin: Int, end: Int
    }

    public let url: URL
    /// Entries in file order.
    public let entries: [Entry]
    public let metadata: [String: String]
    private let index: [String: Int]
    private let file: MappedFile
    private let dataStart: Int

    /// Headers above this size are refused: real ones are kilobytes, and a corrupt length must not
    /// make us parse gigabytes.
    static let maxHeaderBytes = 100 << 20

    public init(_ url: URL) throws {
        self.url = url
        file = try MappedFile(url)
        guard file.size >= 8 else {
            throw SafeTensorsError(url, "too short for a safetensors header (\(file.size) bytes)")
        }
        let headerLength = Int(littleEndian: file.base.loadUnaligned(as: Int.self))
        guard headerLength > 0, headerLength <= Self.maxHeaderBytes, headerLength <= file.size - 8 else {
            throw SafeTensorsError(
                url, "header length \(headerLength) does not fit a \(file.size)-byte file; is this a safetensors file?")
        }
        dataStart = 8 + headerLength
        let headerData = Data(bytesNoCopy: file.base + 8, count: headerLength, deallocator: .none)
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw SafeTensorsError(url, "the header is not a JSON object")
        }
        let dataSize = file.size - dataStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw SafeTensorsError(url, "__metadata__ is not an object")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw SafeTensorsError(url, "__metadata__ value \(key) is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let fields = value as? [String: Any] else {
                throw SafeTensorsError(url, "entry is not an object", tensor: name)
            }
            guard let dtypeName = fields["dtype"] as? String else {
                throw SafeTensorsError(url, "no dtype", tensor: name)
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError(
                    url, "dtype \(dtypeName) is not supported (use F32, F16, BF16, F64, I64 or I32)", tensor: name)
            }
            guard let shapeValues = fields["shape"] as? [Any], let shape = Self.integers(shapeValues),
                shape.allSatisfy({ $0 >= 0 })
            else { throw SafeTensorsError(url, "shape is not a list of non-negative integers", tensor: name) }
            guard let offsetValues = fields["data_offsets"] as? [Any], let offsets = Self.integers(offsetValues),
                offsets.count == 2
            else { throw SafeTensorsError(url, "data_offsets is not a pair of integers", tensor: name) }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw SafeTensorsError(
                    url, "data_offsets [\(begin), \(end)] fall outside the \(dataSize) data bytes (truncated file?)",
                    tensor: name)
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            let (bytes, bytesOverflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !bytesOverflow else {
                throw SafeTensorsError(url, "shape \(shape) of \(dtypeName) is too large to exist", tensor: name)
            }
            guard bytes == end - begin else {
                throw SafeTensorsError(
                    url, "shape \(shape) of \(dtypeName) needs \(bytes) bytes, the offsets give \(end - begin)",
                    tensor: name)
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for (a, b) in zip(entries, entries.dropFirst()) where b.begin < a.end {
            throw SafeTensorsError(url, "overlaps tensor \"\(a.name)\" in the data section", tensor: b.name)
        }
        self.entries = entries
        self.metadata = metadata
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue) else { return nil }
            result.append(integer)
        }
        return result
    }

    public var names: [String] { entries.map(\.name) }

    /// Whether the content matches the checksum that `SafeTensors.write(…, checksum: true)` stored:
    /// nil when the file has none.
    public var checksumMatches: Bool? {
        guard let stored = metadata[ContentChecksum.key] else { return nil }
        let data = UnsafeRawBufferPointer(start: file.base + dataStart, count: file.size - dataStart)
        return ContentChecksum.compute(entries: entries, metadata: metadata, data: data) == stored
    }

    public func entry(_ name: String) throws -> Entry {
        guard let i = index[name] else { throw SafeTensorsError(url, "no such tensor in the file", tensor: name) }
        return entries[i]
    }

    /// A float tensor as float32. F32 data that is 4-byte aligned in the file is used in place.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let pointer = file.base + dataStart + e.begin
        let count = e.shape.reduce(1, *)
        switch e.dtype {
        case .f32:
            if Int(bitPattern: pointer) % MemoryLayout<Float>.alignment == 0 {
                let floats = pointer.bindMemory(to: Float.self, capacity: count)
                return Tensor(shape: e.shape, storage: Storage(borrowing: floats, count: count, owner: file))
            }
            let out = Tensor(zeros: e.shape)
            memcpy(out.data, pointer, count * 4)
            return out
        case .f16, .bf16:
            let out = Tensor(zeros: e.shape)
            let o = out.data
            let isBF16 = e.dtype == .bf16
            parallelChunks(count) { range in
                for i in range {
                    let bits = UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    o[i] = isBF16 ? HalfPrecision.float(fromBF16: bits) : HalfPrecision.float(fromF16: bits)
                }
            }
            return out
        case .f64:
            return Tensor(try doubles(name).map(Float.init), shape: e.shape)
        case .i64, .i32:
            throw SafeTensorsError(url, "holds \(e.dtype.rawValue) integers, not floats", tensor: name)
        }
    }

    /// A float tensor's values in double precision (exact for F64 references).
    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        guard e.dtype == .f64 else { return try tensor(name).scalars.map(Double.init) }
        let pointer = file.base + dataStart + e.begin
        return (0..<e.shape.reduce(1, *)).map {
            Double(bitPattern: UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))
        }
    }

    /// An integer tensor (I64 or I32).
    public func indices(_ name: String) throws -> IndexTensor {
        let e = try entry(name)
        let pointer = file.base + dataStart + e.begin
        let count = e.shape.reduce(1, *)
        switch e.dtype {
        case .i64:
            return IndexTensor(
                (0..<count).map {
                    Int(Int64(littleEndian: pointer.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)))
                }, shape: e.shape)
        case .i32:
            return IndexTensor(
                (0..<count).map {
                    Int(Int32(littleEndian: pointer.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
                }, shape: e.shape)
        default:
            throw SafeTensorsError(url, "holds \(e.dtype.rawValue) floats, not integers", tensor: name)
        }
    }
}

/// Writing safetensors files.
public enum SafeTensors {
    public enum Value {
        case float(Tensor, DType)
        case indices(IndexTensor, DType)
    }

    /// Writes `tensors` (in this order) with a header padded to 8 bytes, as Python's writer does;
    /// with `checksum`, the metadata also holds a checksum of the whole content (`checksumMatches`).
    public static func write(
        _ tensors: [(String, Value)], metadata: [String: String] = [:], checksum: Bool = false,
        to url: URL
    ) throws {
        var header: [String: Any] = [:]
        var offset = 0
        var blobs: [Data] = []
        var entries: [SafeTensorsFile.Entry] = []
        for (name, value) in tensors {
            let (shape, bytes, dtype) = try encode(value, name: name, url: url)
            guard header[name] == nil, name != "__metadata__" else {
                throw SafeTensorsError(url, "written twice", tensor: name)
            }
            header[name] = ["dtype": dtype.rawValue, "shape": shape, "data_offsets": [offset, offset + bytes.count]]
            entries.append(.init(name: name, dtype: dtype, shape: shape, begin: offset, end: offset + bytes.count))
            offset += bytes.count
            blobs.append(bytes)
        }
        var metadata = metadata
        if checksum {
            let data = blobs.reduce(into: Data(capacity: offset)) { $0.append($1) }
            metadata[ContentChecksum.key] = data.withUnsafeBytes {
                ContentChecksum.compute(entries: entries, metadata: metadata, data: $0)
            }
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for blob in blobs { file.append(blob) }
        try FileAccess.writeAtomically(file, to: url)
    }

    private static func encode(_ value: Value, name: String, url: URL) throws -> ([Int], Data, DType) {
        switch value {
        case .float(let tensor, let dtype):
            let source = UnsafeBufferPointer(start: tensor.data, count: tensor.count)
            switch dtype {
            case .f32: return (tensor.shape, Data(buffer: source), .f32)
            case .f16: return (tensor.shape, halves(source.map(HalfPrecision.f16)), .f16)
            case .bf16: return (tensor.shape, halves(source.map(HalfPrecision.bf16)), .bf16)
            case .f64:
                return (
                    tensor.shape,
                    source.map { Double($0).bitPattern.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }, .f64
                )
            case .i64, .i32:
                throw SafeTensorsError(url, "a float tensor cannot be written as \(dtype.rawValue)", tensor: name)
            }
        case .indices(let ids, let dtype):
            guard !dtype.isFloatingPoint else {
                throw SafeTensorsError(url, "integer ids cannot be written as \(dtype.rawValue)", tensor: name)
            }
            if dtype == .i32 {
                return (
                    ids.shape,
                    ids.values.map { Int32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBufferPointer {
                        Data(buffer: $0)
                    }, .i32
                )
            }
            return (
                ids.shape, ids.values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }, .i64
            )
        }
    }

    private static func halves(_ values: [UInt16]) -> Data {
        values.map(\.littleEndian).withUnsafeBufferPointer { Data(buffer: $0) }
    }
}
