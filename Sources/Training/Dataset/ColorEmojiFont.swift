import Foundation
import Graphics
import Numerics

public struct DatasetError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The colour bitmaps of an OpenType font with CBDT/CBLC tables (Noto Color Emoji): the `cmap`
/// maps code points to glyphs, CBLC locates each glyph's bitmap in CBDT, where it is a PNG.
/// Only what gradti needs is read: one strike, single code points, formats 17/18/19.
public struct ColorEmojiFont: Sendable {
    /// The Debian package's font (`fonts-noto-color-emoji`, SIL Open Font License).
    public static let defaultPath = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"

    let data: Data
    let cbdt: Range<Int>
    /// Code point → glyph id, from the cmap's format-12 subtable.
    public let glyphs: [UInt32: Int]
    /// Glyph id → the PNG bytes' range in the file.
    let bitmaps: [Int: Range<Int>]
    /// The strike's nominal size in pixels.
    public let pixelsPerEm: Int

    public init(path: String = ColorEmojiFont.defaultPath) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(
                "cannot read \(path): install Debian's fonts-noto-color-emoji (apt install fonts-noto-color-emoji) or "
                    + "give --font PATH"
            )
        }
        self.data = data
        let reader = BigEndian(data)
        var tables: [String: Range<Int>] = [:]
        let count = try reader.u16(4)
        for i in 0..<count {
            let record = 12 + 16 * i
            guard record + 16 <= data.count else {
                throw DatasetError("\(path): the table directory is cut short (truncated file?)")
            }
            let tag = String(decoding: data[record..<(record + 4)], as: UTF8.self)
            let offset = try reader.u32(record + 8)
            let length = try reader.u32(record + 12)
            guard offset + length <= data.count else {
                throw DatasetError("\(path): table \(tag) lies outside the file")
            }
            tables[tag] = offset..<(offset + length)
        }
        guard let cmap = tables["cmap"], let cblc = tables["CBLC"], let cbdt = tables["CBDT"] else {
            throw DatasetError(
                "\(path) has no cmap/CBLC/CBDT tables: it is not a CBDT colour-bitmap font such as Noto Color Emoji")
        }
        self.cbdt = cbdt
        glyphs = try Self.readCmap(reader, at: cmap.lowerBound, path: path)
        (bitmaps, pixelsPerEm) = try Self.readCBLC(reader, at: cblc.lowerBound, cbdt: cbdt, path: path)
    }

    /// The format-12 (full Unicode) subtable of the cmap.
    static func readCmap(_ r: BigEndian, at base: Int, path: String) throws -> [UInt32: Int] {
        let subtables = try r.u16(base + 2)
        for i in 0..<subtables {
            let offset = base + (try r.u32(base + 4 + 8 * i + 4))
            guard try r.u16(offset) == 12 else { continue }
            var map: [UInt32: Int] = [:]
            let groups = try r.u32(offset + 12)
            for g in 0..<groups {
                let at = offset + 16 + 12 * g
                let (start, end, glyph) = (try r.u32(at), try r.u32(at + 4), try r.u32(at + 8))
                guard end >= start, end - start < 0x11_0000 else {
                    throw DatasetError("\(path): a cmap group is malformed")
                }
                for c in start...end { map[UInt32(c)] = glyph + (c - start) }
            }
            return map
        }
        throw DatasetError("\(path): the cmap has no format-12 subtable")
    }

    /// The first strike's index subtables: glyph → PNG range in CBDT.
    static func readCBLC(_ r: BigEndian, at base: Int, cbdt: Range<Int>, path: String) throws -> (
        [Int: Range<Int>], Int
    ) {
        guard try r.u32(base + 4) >= 1 else { throw DatasetError("\(path): CBLC has no bitmap sizes") }
        let size = base + 8
        let arrayOffset = base + (try r.u32(size))
        let subtables = try r.u32(size + 8)
        let ppem = try r.u8(size + 44)
        var bitmaps: [Int: Range<Int>] = [:]
        for i in 0..<subtables {
            let entry = arrayOffset + 8 * i
            let (first, last) = (try r.u16(entry), try r.u16(entry + 2))
            guard last >= first else { throw DatasetError("\(path): a CBLC index subtable ends before it starts") }
            let header = arrayOffset + (try r.u32(entry + 4))
            let (indexFormat, imageFormat) = (try r.u16(header), try r.u16(header + 2))
            let imageData = cbdt.lowerBound + (try r.u32(header + 4))
            // Where each glyph's record starts and ends in CBDT.
            var records: [(glyph: Int, range: Range<Int>)] = []
            switch indexFormat {
            case 1, 3:
                let width = indexFormat == 1 ? 4 : 2
                for (k, glyph) in (first...last).enumerated() {
                    let at = header + 8 + width * k
                    let (a, b) =
                        indexFormat == 1 ? (try r.u32(at), try r.u32(at + 4)) : (try r.u16(at), try r.u16(at + 2))
                    if b > a { records.append((glyph, (imageData + a)..<(imageData + b))) }
                }
            case 4:
                let n = try r.u32(header + 8)
                for k in 0..<n {
                    let at = header + 12 + 4 * k
                    let (glyph, a, b) = (try r.u16(at), try r.u16(at + 2), try r.u16(at + 6))
                    if b > a { records.append((glyph, (imageData + a)..<(imageData + b))) }
                }
            default:
                continue  // formats 2 and 5 (constant-size glyphs) do not occur in colour emoji fonts
            }
            for (glyph, record) in records {
                // Formats 17 and 18 start with small (5 bytes) or big (8 bytes) metrics, 19 with none;
                // then a 32-bit length and the PNG.
                let skip: Int
                switch imageFormat {
                case 17: skip = 5
                case 18: skip = 8
                case 19: skip = 0
                default: continue
                }
                guard record.upperBound <= cbdt.upperBound else {
                    throw DatasetError("\(path): a bitmap lies outside CBDT")
                }
                let length = try r.u32(record.lowerBound + skip)
                let png = record.lowerBound + skip + 4
                guard png + length <= record.upperBound else {
                    throw DatasetError("\(path): glyph \(glyph)'s PNG is longer than its record")
                }
                bitmaps[glyph] = png..<(png + length)
            }
        }
        return (bitmaps, ppem)
    }

    /// The code points that have a colour bitmap.
    public var codePoints: [UInt32] { glyphs.filter { bitmaps[$0.value] != nil }.keys.sorted() }

    /// The bitmap of a code point, as decoded RGBA.
    public func bitmap(_ codePoint: UInt32) throws -> RGBAImage {
        guard let glyph = glyphs[codePoint], let range = bitmaps[glyph] else {
            throw DatasetError(String(format: "U+%04X has no colour bitmap in the font", codePoint))
        }
        return try PNG.decode(data.subdata(in: range), source: String(format: "the font's bitmap of U+%04X", codePoint))
    }
}

/// Big-endian reads with bounds checks (a truncated font gives an error, not a crash).
struct BigEndian: Sendable {
    let data: Data
    init(_ data: Data) { self.data = data }

    func u8(_ at: Int) throws -> Int {
        guard at >= 0, at + 1 <= data.count else { throw DatasetError("the font file is truncated (read at \(at))") }
        return Int(data[data.startIndex + at])
    }

    func u16(_ at: Int) throws -> Int {
        guard at >= 0, at + 2 <= data.count else { throw DatasetError("the font file is truncated (read at \(at))") }
        return Int(data[data.startIndex + at]) << 8 | Int(data[data.startIndex + at + 1])
    }

    func u32(_ at: Int) throws -> Int {
        guard at >= 0, at + 4 <= data.count else { throw DatasetError("the font file is truncated (read at \(at))") }
        return (0..<4).reduce(0) { $0 << 8 | Int(data[data.startIndex + at + $1]) }
    }
}
