import Foundation
import Graphics
import Jupyter
import Numerics
import TestSupport
import Testing

@testable import Kernel

/// Runs cells and keeps what they send, as (message type, content).
final class Recorder {
    var messages: [(String, JSON)] = []
    let cancellation = CancellationToken()
    let interpreter = GradtiInterpreter()

    func run(_ code: String) -> (ExecuteOutcome, ExecutionIO) {
        let io = ExecutionIO(executionCount: 1, cancellation: cancellation) { [self] in messages.append(($0, $1)) }
        let outcome = interpreter.execute(
            ExecuteRequest(
                code: code, silent: false, storeHistory: true, stopOnError: true,
                allowStdin: false, executionCount: 1), io: io)
        return (outcome, io)
    }

    var types: [String] { messages.map(\.0) }
}

func error(_ outcome: ExecuteOutcome) -> ExecutionError? {
    if case .error(let e) = outcome { return e }
    return nil
}

/// The repository's kernelspec folder, which holds real PNG files.
let kernelspec = Fixtures.repository.appendingPathComponent("kernelspec")

@Suite struct InterpreterTests {
    @Test func printWritesStreams() {
        let r = Recorder()
        _ = r.run("print hello \"big world\"\nprint oops stream=stderr")
        #expect(r.messages.map { $0.1["name"]?.string } == ["stdout", "stderr"])
        #expect(r.messages[0].1["text"] == "hello big world\n")
    }

    @Test func versionIsTheCellValue() {
        let r = Recorder()
        let (_, io) = r.run("version")
        #expect(r.types == ["execute_result"])
        #expect(io.resultText == "gradti \(Gradti.version)")
    }

    @Test func showDisplaysPNGsWithATextFallback() throws {
        let r = Recorder()
        let (outcome, _) = r.run(
            "show \"\(kernelspec.path)/logo-32x32.png\" \"\(kernelspec.path)/logo-64x64.png\" grid=false")
        #expect(error(outcome) == nil)
        #expect(r.types == ["display_data", "display_data"])
        let data = try #require(r.messages[0].1["data"])
        let png = try #require(Data(base64Encoded: data["image/png"]?.string ?? ""))
        #expect(png == (try Data(contentsOf: kernelspec.appendingPathComponent("logo-32x32.png"))))
        #expect(data["text/plain"]?.string?.contains("32x32") == true)
    }

    @Test func showEnlargesSmallOpaqueImagesWithSharpPixels() throws {
        let folder = try Scratch.folder("gradti-show")
        var image = Image(width: 30, height: 20)
        image.pixels[0] = 1  // the top-left pixel red
        try image.writePNG(to: folder.appendingPathComponent("small.png"))
        let r = Recorder()
        let (outcome, _) = r.run("show \"\(folder.path)/small.png\"")
        #expect(error(outcome) == nil)
        let data = try #require(r.messages.first?.1["data"])
        let png = try #require(Data(base64Encoded: data["image/png"]?.string ?? ""))
        try png.write(to: folder.appendingPathComponent("shown.png"))
        let shown = try Image.read(folder.appendingPathComponent("shown.png"))
        // 128 / 30 rounded up: 5x, each source pixel a 5x5 block.
        #expect(shown.width == 150 && shown.height == 100)
        #expect(shown.pixels[4 * 150 + 4] == 1 && shown.pixels[5] == 0)
        #expect(
            data["text/plain"]?.string?.contains("30x20") == true
                && data["text/plain"]?.string?.contains("shown 5x") == true)
    }

    @Test func showChecksEveryFileBeforeShowingAny() throws {
        let r = Recorder()
        let (outcome, _) = r.run(
            "show \"\(kernelspec.path)/logo-32x32.png\" nowhere.png \"\(kernelspec.path)/kernel.json\"")
        #expect(error(outcome)?.evalue.contains("no such file: nowhere.png") == true)
        #expect(r.types.isEmpty)
        let (notPNG, _) = r.run("show \"\(kernelspec.path)/kernel.json\"")
        #expect(error(notPNG)?.evalue.contains("is not an image gradti reads (PNG, JPEG or WebP)") == true)
        let cut = try Scratch.folder("gradti-cut").appendingPathComponent("cut.png")
        try Data(PNG.signature + Array("\u{0}\u{0}\u{0}\u{d}IH".utf8)).write(to: cut)
        #expect(error(r.run("show \"\(cut.path)\"").0)?.evalue.contains("cut.png is a corrupt PNG") == true)
    }

    @Test func showReportsProgressOverManyFiles() throws {
        let r = Recorder()
        let (outcome, _) = r.run(
            "show \"\(kernelspec.path)/logo-*.png\" "
                + String(repeating: "\"\(kernelspec.path)/logo-32x32.png\" ", count: 9))
        #expect(error(outcome) == nil)
        #expect(r.types.first == "display_data")
        let id = r.messages.first?.1["transient"]?["display_id"]
        #expect(id != nil)
        #expect(
            r.messages.filter { $0.0 == "update_display_data" }.allSatisfy { $0.1["transient"]?["display_id"] == id })
        #expect(r.messages.contains { $0.0 == "stream" && $0.1["text"] == "read 11 image files\n" })
        // The progress display, then one grid of the 11 files with their names.
        #expect(r.types.filter { $0 == "display_data" }.count == 2)
        let grid = try #require(r.messages.last { $0.0 == "display_data" }?.1["data"])
        #expect(grid["text/plain"]?.string?.hasPrefix("<11 images: ") == true)
        let png = try PNG.decode(try #require(Data(base64Encoded: grid["image/png"]?.string ?? "")), source: "grid")
        #expect(png.width > 4 * ImageGrid.cell && png.height > 3 * ImageGrid.cell)
    }

    /// Cells fit any image (a wide one shrunk, a small one enlarged by a whole factor, centred on white);
    /// long names are shortened keeping the extension.
    @Test func gridCellsFitEveryShape() {
        let wide = ImageGrid.fitted(Image(width: 400, height: 100, pixels: [Float](repeating: 0, count: 3 * 400 * 100)))
        #expect(wide.width == ImageGrid.cell && wide.height == ImageGrid.cell)
        let side = ImageGrid.cell
        #expect(wide.pixels[0] == 1 && wide.pixels[(side / 2) * side + side / 2] == 0)
        let small = ImageGrid.fitted(Image(width: 10, height: 10, pixels: [Float](repeating: 0, count: 300)))
        #expect(small.pixels[0] == 0 || small.pixels[(side / 2) * side + side / 2] == 0)
        let label = ImageGrid.label(String(repeating: "n", count: 80) + ".jpeg")
        #expect(label.hasSuffix("….jpeg") && Canvas.textWidth(label) <= ImageGrid.cell)
        #expect(ImageGrid.label("a.png") == "a.png")
    }

    @Test func anInterruptStopsALongCommand() {
        let r = Recorder()
        r.cancellation.cancel()
        let (outcome, _) = r.run("print before\nsleep 30\nprint after")
        #expect(error(outcome)?.ename == "Interrupted")
        #expect(r.messages.contains { $0.1["text"] == "before\n" })
        #expect(!r.messages.contains { $0.1["text"] == "after\n" })
    }

    @Test func errorsPointAtTheLine() {
        let r = Recorder()
        let e = error(r.run("print a\nprint b stream=nowhere").0)
        #expect(e?.ename == "UsageError")
        #expect(e?.evalue.hasPrefix("line 2, column 9:") == true)
        #expect(e?.traceback.first?.contains("2 | print b stream=nowhere") == true)
        #expect(r.messages.isEmpty)
    }

    @Test func helpGoesInlineOrToThePager() {
        let r = Recorder()
        let (_, io) = r.run("help sleep\nsleep?")
        #expect(r.types == ["display_data"])
        #expect(io.payload.count == 1)
        #expect(io.payload.first?["source"] == "page")
    }
}
