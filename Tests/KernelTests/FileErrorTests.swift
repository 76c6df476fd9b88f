import Foundation
import TestSupport
import Testing

@testable import Kernel

/// Every file error names the file and says what is wrong in words, and the session loses nothing.
@Suite struct FileErrorTests {
    /// Foundation's codes that cells used to show instead of a reason.
    static let jargon = [
        "NSCocoaErrorDomain", "Code=", "error 512", "error 259", "don’t have permission", "don't have permission"
    ]

    func ready() throws -> Recorder {
        let r = Recorder()
        let images = try conceptFolder()
        #expect(error(r.run("load \"\(sdTiny.path)\"").0) == nil)
        #expect(error(r.run("concept toy from \"\(images.path)/*.png\" init=toy").0) == nil)
        #expect(error(r.run("step 1").0) == nil)
        return r
    }

    func expectClear(_ r: Recorder, _ cell: String, mentions fragments: [String]) {
        let failure = error(r.run(cell).0)
        #expect(failure != nil, "\(cell) succeeded")
        let text = failure?.evalue ?? ""
        for word in Self.jargon { #expect(!text.contains(word), "\(cell): \(text)") }
        for fragment in fragments { #expect(text.contains(fragment), "\(cell): \(text)") }
    }

    @Test func savingWhereNoFileCanBe() throws {
        let r = try ready()
        let folder = try Scratch.folder("gradti-save")
        let fifo = folder.appendingPathComponent("pipe.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        expectClear(r, "save session \"\(folder.path)\"", mentions: ["is a folder"])
        expectClear(r, "save session \"\"", mentions: ["folder"])
        expectClear(r, "save session .", mentions: ["folder"])
        // Before: as root, the rename replaced /dev/full with a regular file and replied "saved".
        expectClear(r, "save session /dev/full", mentions: ["/dev/full", "character device"])
        expectClear(r, "save embedding \"\(fifo.path)\"", mentions: ["FIFO"])
        expectClear(r, "export metrics /dev/full", mentions: ["/dev/full", "character device"])
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        #expect(r.interpreter.workspace.session?.stepCount == 1)
    }

    @Test func readingWhatIsNotAFile() throws {
        let r = try ready()
        let folder = try Scratch.folder("gradti-read")
        let fifo = folder.appendingPathComponent("pipe.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // Before: this blocked forever, ignoring interrupts.
        expectClear(r, "load embedding \"\(fifo.path)\"", mentions: ["pipe.safetensors", "FIFO"])
        expectClear(r, "load embedding /dev/zero", mentions: ["/dev/zero", "character device"])
        expectClear(r, "load session \"\(folder.path)\"", mentions: ["a folder"])
        expectClear(
            r, "load embedding \"\(folder.path)/missing.safetensors\"",
            mentions: ["missing.safetensors", "no such file"])
        let png = folder.appendingPathComponent("fifo.png")
        #expect(mkfifo(png.path, 0o600) == 0)
        expectClear(r, "show \"\(png.path)\"", mentions: ["fifo.png", "FIFO"])
        expectClear(r, "concept other from \"\(png.path)\"", mentions: ["fifo.png", "FIFO"])
        #expect(r.interpreter.workspace.session?.concept?.name == "toy")
    }

    @Test func aGarbageMergesFileIsNamed() throws {
        let folder = try Scratch.folder("gradti-merges").appendingPathComponent("pipeline")
        try FileManager.default.copyItem(at: sdTiny, to: folder)
        try Data([0xFF, 0xFE, 0x00, 0xC3, 0x28, 0xA0]).write(to: folder.appendingPathComponent("tokenizer/merges.txt"))
        let r = Recorder()
        expectClear(r, "load \"\(folder.path)\"", mentions: ["merges.txt", "UTF-8"])
    }
}
