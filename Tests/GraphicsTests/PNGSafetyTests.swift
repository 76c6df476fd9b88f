import Foundation
import Graphics
import Testing

/// PNG reading and writing that must never trap or hang, whatever the file or the pixels.
@Suite struct PNGSafetyTests {
    /// Before: open(2) without O_NONBLOCK waited forever for a writer.
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-png-fifo-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe.png")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: PNGError.self) { try PNG.read(fifo) }
    }

    /// Found by the PNG fuzz harness: a 49-byte file whose text chunk declares 2 GiB.
    @Test func aHugeDeclaredChunkIsNotAllocated() throws {
        func chunk(_ type: String, _ body: [UInt8], declared: UInt32? = nil) -> [UInt8] {
            let typed = Array(type.utf8) + body
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in typed {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            let length = declared ?? UInt32(body.count)
            return (0..<4).map { UInt8(truncatingIfNeeded: length >> (24 - 8 * $0)) } + typed
                + (0..<4).map { UInt8(truncatingIfNeeded: (crc ^ 0xFFFF_FFFF) >> (24 - 8 * $0)) }
        }
        let png =
            [137, 80, 78, 71, 13, 10, 26, 10] + chunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])
            + chunk("tEXt", Array("a\0b".utf8), declared: 0x7FFF_FFFF)
        #expect(throws: PNGError.self) { try PNG.decode(Data(png), source: "text.png") }
    }

    @Test func imagesWithNaNOrInfinityNeverTrap() throws {
        let image = Image(width: 2, height: 1, pixels: [.nan, .infinity, -.infinity, 0.5, .nan, 1])
        // Planar: R = [NaN, ∞], G = [−∞, 0.5], B = [NaN, 1].
        #expect(image.rgb8 == [0, 0, 0, 255, 128, 255])
        _ = try image.pngData()
    }
}
