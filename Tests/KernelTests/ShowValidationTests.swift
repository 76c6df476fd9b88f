import Foundation
import TestSupport
import Testing

@testable import Kernel

/// PNG files built chunk by chunk, with correct CRCs, so that only what they declare is wrong.
enum HandmadePNG {
    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        // CRC-32 (the PNG/zlib polynomial), bit by bit: a few bytes only.
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in typed {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return bigEndian(UInt32(body.count)) + typed + bigEndian(crc)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
    }

    /// A PNG whose header declares `width`×`height` and `colourType`, with `idat` as its only data.
    static func file(width: UInt32, height: UInt32, colourType: UInt8, idat: [UInt8]) -> Data {
        let header = bigEndian(width) + bigEndian(height) + [8, colourType, 0, 0, 0]
        return Data([137, 80, 78, 71, 13, 10, 26, 10] + chunk("IHDR", header) + chunk("IDAT", idat) + chunk("IEND", []))
    }
}

@Suite struct ShowValidationTests {
    @Test(arguments: [
        (UInt32(100_000), UInt32(100_000), UInt8(2), "100000x100000"),
        (UInt32(2_147_483_647), UInt32(1), UInt8(2), "2147483647x1"),
        (UInt32(4), UInt32(4), UInt8(3), "palette without PLTE")
    ])
    func declaredButUndecodableImagesAreRefused(width: UInt32, height: UInt32, colourType: UInt8, label: String) throws
    {
        let folder = try Scratch.folder("gradti-show")
        let url = folder.appendingPathComponent("bad.png")
        // A 10-byte IDAT: the zlib stream of a few zero bytes.
        try HandmadePNG.file(
            width: width, height: height, colourType: colourType,
            idat: [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]
        ).write(to: url)
        let r = Recorder()
        // Before: `show` checked only the signature and IHDR, and displayed these.
        let failure = error(r.run("show \"\(url.path)\"").0)
        #expect(failure != nil, "\(label) was shown")
        #expect(failure?.evalue.contains("bad.png") == true, "\(failure?.evalue ?? "")")
        #expect(!r.types.contains("display_data"))
    }

    @Test func aValidHandmadePNGIsShown() throws {
        let folder = try Scratch.folder("gradti-show")
        let url = folder.appendingPathComponent("good.png")
        // 1x1 grey: one filter byte and one sample, in a stored (uncompressed) zlib block.
        let raw: [UInt8] = [0, 128]
        let (a, b) = raw.reduce((UInt32(1), UInt32(0))) {
            (($0.0 + UInt32($1)) % 65521, ($0.1 + $0.0 + UInt32($1)) % 65521)
        }
        let stream: [UInt8] = [0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF] + raw + HandmadePNG.bigEndian(b << 16 | a)
        try HandmadePNG.file(width: 1, height: 1, colourType: 0, idat: stream).write(to: url)
        let r = Recorder()
        #expect(error(r.run("show \"\(url.path)\"").0) == nil)
        #expect(r.types.contains("display_data"))
    }
}
