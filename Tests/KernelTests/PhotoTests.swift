import Foundation
import Jupyter
import TestSupport
import Testing

@testable import Kernel

/// Photos as they come: JPEG and WebP in `show` and `concept`, folders and patterns included.
@Suite struct PhotoTests {
    func text(_ r: Recorder) -> String { r.messages.compactMap { $0.1["text"]?.string }.joined() }

    @Test func showAndConceptTakeJPEGAndWebP() throws {
        let images = try Fixtures.url("GraphicsTests/Fixtures/images")
        let folder = try Scratch.folder("gradti-photos")
        for name in ["baseline-420.jpg", "orientation-6.jpg", "exif-6.webp", "cmyk-adobe.jpg"] {
            try FileManager.default.copyItem(
                at: images.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        try Data("a caption".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let r = Recorder()
        for cell in [
            "show \"\(folder.path)/orientation-6.jpg\"", "load \"\(sdTiny.path)\"",
            "concept toy from \"\(folder.path)\" init=cat", "step 2", "show concept"
        ] {
            let (outcome, _) = r.run(cell)
            #expect(error(outcome) == nil, "\(cell): \(error(outcome)?.evalue ?? "")")
        }
        let output = r.messages.compactMap { $0.1["data"]?["text/plain"]?.string }.joined(separator: "\n")
        // Shown upright: the stored 23x14 picture turned by its EXIF orientation.
        #expect(output.contains("<orientation-6.jpg: JPEG 14x23"))
        #expect(text(r).contains("concept toy: 4 images"))
        #expect(error(r.run("show \"\(images.path)/picture.gif\"").0)?.evalue.contains("is a GIF file") == true)
        #expect(error(r.run("show \"\(images.path)/truncated.jpg\"").0)?.evalue.contains("truncated") == true)
    }
}

@Suite struct AutosaveCommandTests {
    @Test func autosaveFromCells() throws {
        let folder = try Scratch.folder("gradti-autosave-cells")
        let images = try conceptFolder()
        let r = Recorder()
        for cell in [
            "autosave", "autosave every=2 keep=1 path=\"\(folder.path)\"", "load \"\(sdTiny.path)\"",
            "concept toy from \"\(images.path)\" init=cat", "step 5", "autosave", "autosave off", "step 2"
        ] {
            #expect(error(r.run(cell).0) == nil, "\(cell)")
        }
        let text = r.messages.compactMap { $0.1["text"]?.string }.joined()
        #expect(text.contains("autosave: off (turn it on") && text.contains("autosave: every 2 steps into"))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [
                "toy-step0000004.safetensors", "toy-step0000004.session.safetensors"
            ])
        #expect(error(r.run("autosave keep=2").0)?.evalue.contains("needs every=K") == true)
    }
}
