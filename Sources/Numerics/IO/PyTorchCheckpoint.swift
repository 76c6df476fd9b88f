import Foundation

/// A checkpoint written by `torch.save` (`.bin`, `.pt`, `.pth`, `.ckpt`): a zip archive holding a pickle
/// (`ARCHIVE/data.pkl`) and one file per storage (`ARCHIVE/data/KEY`). The pickle is read by gradti's own
/// unpickler, which runs nothing; the tensors are found wherever they sit (a flat state dict, under
/// `state_dict`, A1111's `string_to_param`…) and named by their path of keys joined with dots
/// (`state_dict.model.diffusion_model.out.0.weight`). A tensor's bytes are read only when asked for, straight
/// from its storage's byte range.
public final class PyTorchCheckpoint {
    public enum ElementType: String, Sendable {
        case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

        init?(storage type: String) {
            let table: [String: ElementType] = [
                "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
                "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16,
                "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool
            ]
            guard let found = table[type] else { return nil }
            self = found
        }

        public var byteSize: Int {
            switch self {
            case .float64, .int64: 8
            case .float32, .int32: 4
            case .float16, .bfloat16, .int16: 2
            case .int8, .uint8, .bool: 1
            }
        }

        public var isFloatingPoint: Bool { [.float32, .float16, .bfloat16, .float64].contains(self) }
    }

    public struct Entry: Sendable {
        public var name: String
        public var type: ElementType
        public var shape: [Int]
        var storage: String
        var offset: Int
        var strides: [Int]
    }

    public let url: URL
    /// Tensors in the order the pickle holds them.
    public let entries: [Entry]
    /// The whole pickled object (for readers that want more than tensors, such as A1111's embedding name).
    public let root: PickleValue
    private let archive: ZipArchive
    private let folder: String
    private let index: [String: Int]

    /// Whether `data` starts as a zip archive does (torch.save's format since PyTorch 1.6).
    public static func isZip(_ data: Data) -> Bool { data.starts(with: [0x50, 0x4B, 0x03, 0x04]) }

    /// Whether `data` starts as torch.save's legacy format does: a pickle (protocol 2) of its magic number.
    public static func isLegacy(_ data: Data) -> Bool {
        data.starts(with: [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19])
    }

    /// Whether `data` starts as a file `PyTorchCheckpoint` reads or explains (zip or legacy).
    public static func isPyTorch(_ data: Data) -> Bool { isZip(data) || isLegacy(data) }

    public init(_ url: URL) throws {
        self.url = url
        // A regular file (not a folder, FIFO or device), of which only the first bytes are read here.
        let start = Data(try FileAccess.firstBytes(url, count: 14))
        guard Self.isZip(start) else {
            guard Self.isLegacy(start) else {
                throw FileError(
                    "\(displayPath(url)) is not a PyTorch checkpoint (neither the zip archive torch.save writes nor a "
                        + "pickle)")
            }
            throw FileError(
                "\(displayPath(url)) is a PyTorch file in the legacy format (before PyTorch 1.6), which gradti does "
                    + "not read: re-save it with python -c \"import torch; torch.save(torch.load("
                    + "'\(url.lastPathComponent)', map_location='cpu', weights_only=False), 'resaved.bin')\", or "
                    + "convert it to safetensors")
        }
        archive = try ZipArchive(url)
        guard
            let pickle = archive.names.first(where: { $0.hasSuffix("data.pkl") && $0.split(separator: "/").count == 2 })
        else {
            throw FileError("\(displayPath(url)) is a zip archive without data.pkl: not a torch.save checkpoint")
        }
        folder = String(pickle.dropLast("data.pkl".count))
        if archive.contains(folder + "byteorder") {
            let order = String(decoding: try archive.read(folder + "byteorder", limit: 16), as: UTF8.self)
            guard order.trimmingCharacters(in: .whitespacesAndNewlines) == "little" else {
                throw FileError(
                    "\(displayPath(url)) stores its tensors \(order)-endian; gradti reads little-endian ones")
            }
        }
        do { root = try Unpickler.load(try archive.read(pickle, limit: 1 << 30)) } catch let error as PickleError {
            throw FileError("\(displayPath(url)): \(pickle): \(error.description)")
        }
        var found: [Entry] = []
        try Self.collect(root, path: [], into: &found, url: url)
        entries = found
        index = Dictionary(found.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var names: [String] { entries.map(\.name) }

    /// The object a pickle holds (gradti's unpickler: data only, nothing runs); for the fuzz harness and
    /// tools that read a `data.pkl` on its own.
    public static func unpickle(_ data: Data) throws -> PickleValue { try Unpickler.load(data) }

    public func entry(_ name: String) throws -> Entry {
        guard let i = index[name] else { throw FileError("\(displayPath(url)): no tensor \(name)") }
        return entries[i]
    }

    /// Every tensor under dicts, lists and tuples, named by its path.
    private static func collect(_ value: PickleValue, path: [String], into found: inout [Entry], url: URL) throws {
        switch value {
        case .tensor(let t):
            guard let type = ElementType(storage: t.storageType) else {
                throw FileError(
                    "\(displayPath(url)): \(path.joined(separator: ".")) has storage \(t.storageType), "
                        + "an element type gradti does not read")
            }
            found.append(
                Entry(
                    name: path.joined(separator: "."), type: type, shape: t.shape, storage: t.storageKey,
                    offset: t.offset,
                    strides: t.strides))
        case .dict(let items):
            for (key, item) in items {
                let name: String
                switch key {
                case .string(let s): name = s
                case .int(let i): name = "\(i)"
                default: continue
                }
                try collect(item, path: path + [name], into: &found, url: url)
            }
        case .list, .tuple:
            for (i, item) in (value.tuple ?? []).enumerated() {
                try collect(item, path: path + ["\(i)"], into: &found, url: url)
            }
        default: return
        }
    }

    /// A floating-point tensor as float32 (contiguous, whatever its strides and offset in the storage).
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        guard e.type.isFloatingPoint else {
            throw FileError("\(displayPath(url)): tensor \(name) holds \(e.type.rawValue) integers, not weights")
        }
        let count = e.shape.reduce(1, *)
        guard count > 0 else { return Tensor(zeros: e.shape) }
        // The storage elements the view reaches: from its offset to its farthest element.
        let span = zip(e.shape, e.strides).map { ($0 - 1) * $1 }.reduce(0, +) + 1
        let size = e.type.byteSize
        let key = folder + "data/" + e.storage
        let stored = try archive.size(key)
        guard (e.offset + span) * size <= stored else {
            throw FileError(
                "\(displayPath(url)): tensor \(name) needs \((e.offset + span) * size) bytes of storage \(e.storage), "
                    + "which has \(stored): a damaged checkpoint")
        }
        var raw = [UInt8](repeating: 0, count: span * size)
        try raw.withUnsafeMutableBytes { try archive.read(key, offset: e.offset * size, into: $0) }
        let out = Tensor(zeros: e.shape)
        let o = out.data
        raw.withUnsafeBytes { bytes in
            func element(_ i: Int) -> Float {
                switch e.type {
                case .float32:
                    return Float(
                        bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .float16:
                    return HalfPrecision.float(
                        fromF16: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case .bfloat16:
                    return HalfPrecision.float(
                        fromBF16: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                default:
                    return Float(
                        Double(
                            bitPattern: UInt64(
                                littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            }
            // Row-major over the shape, each element found through the strides.
            var position = [Int](repeating: 0, count: e.shape.count)
            var source = 0
            for i in 0..<count {
                o[i] = element(source)
                var axis = e.shape.count - 1
                while axis >= 0 {
                    position[axis] += 1
                    source += e.strides[axis]
                    if position[axis] < e.shape[axis] { break }
                    source -= e.strides[axis] * e.shape[axis]
                    position[axis] = 0
                    axis -= 1
                }
            }
        }
        return out
    }
}
