import Foundation
import Graphics
import Jupyter
import Numerics
import TestSupport
import Testing

@testable import Kernel

let sdTiny = Fixtures.sdTiny

/// Writes two small concept images and returns their folder.
func conceptFolder() throws -> URL {
    let folder = try Scratch.folder("gradti-kernel-concept")
    for i in 0..<2 {
        let image = Image(width: 20, height: 20, pixels: (0..<1200).map { Float(($0 * (i + 3)) % 17) / 17 })
        try image.writePNG(to: folder.appendingPathComponent("\(i).png"))
    }
    return folder
}

@Suite struct SessionCommandTests {
    func text(_ r: Recorder) -> String { r.messages.compactMap { $0.1["text"]?.string }.joined() }

    @Test func aWholeSessionFromCells() throws {
        let r = Recorder()
        let images = try conceptFolder()
        for cell in [
            "load \"\(sdTiny.path)\"", "concept cat-toy from \"\(images.path)/*.png\" init=cat",
            "optimizer batch=2 seed=1", "strategy range 350 450", "step 3", "profile t=100:1000:300 samples=2",
            "strategy highgrad width=200", "strategy adaptive bins=10", "step 2", "step 30 stop=dvar window=3 eps=0.9",
            "info"
        ] {
            let (outcome, _) = r.run(cell)
            #expect(error(outcome) == nil, "\(cell): \(error(outcome)?.evalue ?? "")")
        }
        let output = text(r)
        #expect(output.contains("concept cat-toy: 2 images, tokens <cat-toy>"))
        #expect(output.contains("3 steps (now 3)"))
        #expect(output.contains("profiled 3 timesteps"))
        #expect(output.contains("stopped early: DVAR"))
        #expect(session_steps(r) < 35)
        let session = try #require(r.interpreter.workspace.session)
        #expect(session.history.prefix(3).allSatisfy { $0.timesteps.allSatisfy { (350..<450).contains($0) } })
        // Completion offers the placeholder inside prompts.
        #expect(r.interpreter.complete(code: "print \"a photo of <ca", cursor: 22).matches == ["<cat-toy>"])
    }

    /// Bin counts that do not divide the schedule run (`bins=64` used to crash the kernel); the three
    /// definitions of g profile, plot and steer; a mid-run change is listed by `info`.
    @Test func everyDefinitionOfGFromCells() throws {
        let r = Recorder()
        let images = try conceptFolder()
        for cell in [
            "load \"\(sdTiny.path)\"", "concept cat-toy from \"\(images.path)/*.png\" init=cat",
            "strategy adaptive bins=64", "step 100", "profile t=0:1000:250 samples=1 g=jacobian probes=2",
            "strategy highgrad g=jacobian width=100", "step 1", "strategy adaptive g=mse bins=60", "step 2",
            "plot g", "plot g g=all", "plot g g=jacobian", "optimizer reset", "info"
        ] {
            let (outcome, _) = r.run(cell)
            #expect(error(outcome) == nil, "\(cell): \(error(outcome)?.evalue ?? "")")
        }
        let output = text(r)
        #expect(output.contains("g jacobian") && output.contains("g norm") && output.contains("probe s.e."))
        #expect(output.contains("after step 100: strategy high-grad (width=100, g=jacobian, from=concept)"))
        #expect(output.contains("after step 103: optimizer reset"))
        #expect(error(r.run("strategy adaptive g=size").0)?.evalue.contains("g") == true)
    }

    /// `load` alone loads the embedded model: the folder GRADTI_MODEL names, else one found from the binary
    /// (InstallationTests).
    @Test func loadWithoutAPathLoadsTheDefaultModel() throws {
        let r = Recorder()
        setenv("GRADTI_MODEL", "/nonexistent/gradti-emoji", 1)
        defer { unsetenv("GRADTI_MODEL") }
        #expect(
            error(r.run("load").0)?.evalue.contains(
                "GRADTI_MODEL names /nonexistent/gradti-emoji, which holds no pipeline") == true)
        setenv("GRADTI_MODEL", sdTiny.path, 1)
        #expect(error(r.run("load").0) == nil)
        #expect(r.messages.contains { $0.1["text"]?.string?.contains("loaded the embedded model (pipeline)") == true })
        #expect(r.interpreter.workspace.pipeline?.folder.path == sdTiny.path)
    }

    func session_steps(_ r: Recorder) -> Int { r.interpreter.workspace.session?.stepCount ?? 0 }

    @Test func clearErrors() throws {
        let r = Recorder()
        #expect(
            error(r.run("step 10").0)?.evalue.contains("no model loaded: use `load` for the embedded model") == true)
        #expect(error(r.run("load /nonexistent/folder").0)?.evalue.contains("no such folder") == true)
        #expect(
            error(r.run("load \"\(sdTiny.path)/unet\"").0)?.evalue.contains(
                "is the unet/ of a pipeline: load the pipeline folder \(sdTiny.path)") == true)
        #expect(error(r.run("load \"\(sdTiny.path)\"").0) == nil)
        #expect(error(r.run("step 10").0)?.evalue.contains("no concept") == true)
        #expect(error(r.run("concept x to a.png").0)?.evalue.contains("expected the word `from`") == true)
        #expect(error(r.run("concept x from missing.png").0)?.evalue.contains("missing.png") == true)
        #expect(error(r.run("strategy single").0)?.evalue.contains("one timestep") == true)
        #expect(error(r.run("strategy single 1000").0)?.evalue.contains("outside") == true)
        #expect(error(r.run("strategy highgrad").0)?.evalue.contains("profile") == true)
        let before = text(r).count
        #expect(error(r.run("strategy").0) == nil)
        #expect(text(r).dropFirst(before) == "strategy: uniform [0, 1000) → t in [0, 1000)\n")
        #expect(error(r.run("strategy bins=3").0)?.evalue.contains("options need a strategy") == true)
        #expect(error(r.run("step 0").0)?.ename == "UsageError")
        #expect(error(r.run("profile t=9:1").0)?.evalue.contains("START:END:STEP") == true)
        // Commands that need a concept say so before they show any progress.
        let shownBefore = r.messages.count
        #expect(error(r.run("profile").0)?.evalue.contains("no concept yet") == true)
        #expect(!r.messages[shownBefore...].contains { $0.0 == "display_data" })
        // A placeholder the session does not have would be split into pieces by the tokenizer.
        let shown = r.messages.count
        let unknown = error(r.run("generate \"a photo of <S*>\" n=1 steps=1").0)?.evalue ?? ""
        #expect(!r.messages[shown...].contains { $0.0 == "display_data" })
        #expect(unknown.contains("names <S*>, which is not a placeholder of this session (it has none yet)"))
        #expect(unknown.contains("concept S* from IMAGES"))
        #expect(
            error(r.run("generate \"a photo\" n=1 steps=1 negative=\"<blurry>\"").0)?.evalue.contains("<blurry>")
                == true)
        #expect(error(r.run("generate \"a photo of a cat\" n=1 steps=1").0) == nil)
        // Angle brackets that are not placeholder-like pass, as A1111's LoRA syntax does.
        #expect(error(r.run("generate \"a cat <-> a dog <lora:x:0.8>\" n=1 steps=1").0) == nil)
        // Nothing to save: no folder is made.
        let nowhere = try Scratch.folder("gradti-save").appendingPathComponent("new")
        #expect(
            error(r.run("save embedding \"\(nowhere.path)/x.safetensors\"").0)?.evalue.contains("no concept yet")
                == true)
        #expect(!FileManager.default.fileExists(atPath: nowhere.path))
    }

    @Test func placeholdersAreThoseOfTheSessionNow() throws {
        let r = Recorder()
        let images = try conceptFolder()
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)\" init=toy")
        // The concept's placeholder works in the negative prompt too (it used to reach the plain text encoder).
        #expect(error(r.run("generate \"a photo\" n=1 steps=1 negative=\"<toy>\"").0) == nil)
        // A new concept replaces the old one: its placeholder has no vectors any more.
        _ = r.run("concept ball from \"\(images.path)\" init=ball")
        let stale = error(r.run("generate \"a photo of <toy>\" n=1 steps=1").0)?.evalue ?? ""
        #expect(stale.contains("names <toy>, which is not a placeholder of this session (it has <ball>)"))
        #expect(error(r.run("generate \"a photo of <ball>\" n=1 steps=1").0) == nil)
    }

    @Test func newOutputsNeverReuseAName() throws {
        let workspace = Workspace()
        workspace.outputFolder = try Scratch.folder("gradti-outputs").appendingPathComponent("outputs")
        let first = try workspace.newOutputs(prefix: "plot-", suffixes: [".png"])
        try Data().write(to: first[0])
        let second = try workspace.newOutputs(prefix: "plot-", suffixes: [".png"])
        try Data().write(to: second[0])
        let third = try workspace.newOutputs(prefix: "plot-", suffixes: [".png"])
        #expect(Set([first[0], second[0], third[0]]).count == 3)
        #expect(third[0].lastPathComponent.hasPrefix("plot-") && third[0].pathExtension == "png")
    }

    @Test func aPromptLongerThanTheTextEncoderReadsIsCutWithAWarning() throws {
        let r = Recorder()
        _ = r.run("load \"\(sdTiny.path)\"")
        let words = (1...80).map { _ in "cat" }.joined(separator: " ") + " on the moon"
        #expect(error(r.run("generate \"\(words)\" n=1 steps=1").0) == nil)
        let warning = r.messages.first { $0.0 == "stream" && $0.1["name"] == "stderr" }?.1["text"]?.string ?? ""
        #expect(
            warning.hasPrefix(
                "warning: the prompt has 83 tokens and the text encoder reads 75; this end is cut: \"cat cat cat cat "
                    + "cat on the moon\""
            ))
        let shown = r.messages.count
        #expect(error(r.run("generate \"a cat\" n=1 steps=1").0) == nil)
        #expect(!r.messages[shown...].contains { $0.0 == "stream" && $0.1["name"] == "stderr" })
    }

    @Test func compareChecksItsStrategiesBeforeRunning() throws {
        let r = Recorder()
        let images = try conceptFolder()
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)\" init=toy")
        let shown = r.messages.count
        #expect(
            error(r.run("compare uniform 900-100 steps=3").0)?.evalue.contains(
                "900-100: the range [900, 100) must be non-empty") == true)
        #expect(
            error(r.run("compare uniform uniform steps=3").0)?.evalue.contains("each strategy can be compared once")
                == true)
        #expect(!r.messages[shown...].contains { $0.0 == "display_data" })
    }

    @Test func aFolderStandsForItsPNGFiles() throws {
        let r = Recorder()
        let images = try conceptFolder()
        try Data("not an image".utf8).write(to: images.appendingPathComponent("notes.txt"))
        _ = r.run("load \"\(sdTiny.path)\"")
        #expect(error(r.run("concept toy from \"\(images.path)\" init=toy").0) == nil)
        #expect(text(r).contains("concept toy: 2 images"))
        #expect(error(r.run("generate \"a photo of <toy>\" n=1 steps=1").0) == nil)
        let empty = try Scratch.folder("gradti-empty")
        #expect(
            error(r.run("concept toy from \"\(empty.path)\"").0)?.evalue.contains(
                "holds no image files (PNG, JPEG, WebP)") == true)
        try Data().write(to: images.appendingPathComponent("._0.png"))  // macOS metadata, not an image
        try FileManager.default.createDirectory(
            at: images.appendingPathComponent("sub.png"), withIntermediateDirectories: true)
        let shown = r.messages.count
        #expect(error(r.run("show \"\(images.path)\" grid=false").0) == nil)
        #expect(r.messages[shown...].filter { $0.0 == "display_data" }.count == 2)
        // A pattern skips the folders it matches.
        #expect(error(r.run("show \"\(images.path)/*.png\" grid=false").0) == nil)
        #expect(r.messages[shown...].filter { $0.0 == "display_data" }.count == 4)
    }

    /// Caption files next to the images (0.txt for 0.png) are trained with unless kind says otherwise;
    /// a pattern such as dir/* takes the images only.
    @Test func captionFilesNextToTheImages() throws {
        let r = Recorder()
        let images = try conceptFolder()
        for i in 0..<2 {
            try Data("a {} on a red background, small, left\n".utf8).write(
                to: images.appendingPathComponent("\(i).txt"))
        }
        _ = r.run("load \"\(sdTiny.path)\"")
        #expect(error(r.run("concept toy from \"\(images.path)/*\" init=toy").0) == nil)
        #expect(text(r).contains("concept toy: 2 images, tokens <toy>, from \"toy\", trained with their captions"))
        #expect(error(r.run("concept toy from \"\(images.path)\" init=toy kind=object").0) == nil)
        #expect(text(r).contains("trained with the object templates"))
        try Data("\n".utf8).write(to: images.appendingPathComponent("1.txt"))
        #expect(error(r.run("concept toy from \"\(images.path)\" init=toy").0) == nil)
        #expect(
            text(r).contains("the caption files next to the images are not used")
                && text(r).hasSuffix("trained with the object templates\n"))
        #expect(
            error(r.run("concept toy from \"\(images.path)\" init=toy kind=captions").0)?.evalue.contains(
                "1.txt holds no caption") == true)
        // kohya's captions (no {}): the concept takes the init word's place.
        try Data("a toy on a red background\n".utf8).write(to: images.appendingPathComponent("1.txt"))
        #expect(error(r.run("concept toy from \"\(images.path)\" init=toy").0) == nil)
        #expect(text(r).hasSuffix("trained with their captions\n"))
        #expect(
            error(r.run("show \"\(images.path)/*.txt\"").0)?.evalue.contains("matches no image file (PNG, JPEG, WebP)")
                == true)
    }

    @Test func generateShowsAGridAndSavesImages() throws {
        let r = Recorder()
        let images = try conceptFolder()
        let folder = try Scratch.folder("gradti-generate")
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)/*.png\" init=toy")
        r.interpreter.workspace.outputFolder = folder.appendingPathComponent("outputs")
        let (outcome, _) = r.run("generate \"a photo of <toy>\" n=3 steps=4 seed=2")
        #expect(error(outcome) == nil, "\(error(outcome)?.evalue ?? "")")
        let shown = try #require(r.messages.last { $0.0 == "display_data" && $0.1["data"]?["image/png"] != nil })
        let png = try #require(Data(base64Encoded: shown.1["data"]?["image/png"]?.string ?? ""))
        let grid = try PNG.decode(png, source: "grid")
        #expect(grid.width >= 3 * 128 && grid.height > 128, "three enlarged images with labels underneath")
        // The same cell again within the same second keeps the first images.
        #expect(error(r.run("generate \"a photo of <toy>\" n=3 steps=4 seed=2").0) == nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("outputs").path)
        #expect(files.count == 6 && files.allSatisfy { $0.hasSuffix(".png") })
        let single = try PNG.read(folder.appendingPathComponent("outputs").appendingPathComponent(files.sorted()[0]))
        #expect(single.width == 16 && single.height == 16)
    }

    @Test func outputsNameFilesInTheWorkingDirectoryRelatively() {
        // Shared notebooks should not carry the author's folders.
        let cwd = FileManager.default.currentDirectoryPath
        #expect(displayPath(URL(fileURLWithPath: cwd).appendingPathComponent("outputs/a.png")) == "outputs/a.png")
        #expect(displayPath(URL(fileURLWithPath: "/somewhere/else/a.png")) == "/somewhere/else/a.png")
        // A neighbour of the working directory (a notebook's ../models/…) is named relatively too.
        let name = URL(fileURLWithPath: cwd).lastPathComponent
        #expect(displayPath(URL(fileURLWithPath: cwd + "-other/a.png")) == "../\(name)-other/a.png")
        #expect(displayPath(URL(fileURLWithPath: cwd).deletingLastPathComponent()) == "..")
    }

    @Test func plotsAreDecodablePNGs() throws {
        let r = Recorder()
        let images = try conceptFolder()
        let folder = try Scratch.folder("gradti-plots")
        r.interpreter.workspace.outputFolder = folder
        #expect(error(r.run("plot g").0)?.evalue.contains("no model") == true)
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)/*.png\" init=toy")
        #expect(error(r.run("plot g").0)?.evalue.contains("no profile") == true)
        for cell in [
            "profile t=0:1000:250 samples=2", "strategy range 350 450", "step 4", "profile t=0:1000:250 samples=2",
            "plot g", "plot loss", "plot timesteps"
        ] {
            #expect(error(r.run(cell).0) == nil, "\(cell)")
        }
        let pngs = r.messages.filter { $0.0 == "display_data" }.compactMap { $0.1["data"]?["image/png"]?.string }
        #expect(pngs.count == 3)
        for png in pngs {
            let image = try PNG.decode(try #require(Data(base64Encoded: png)), source: "plot")
            #expect(image.width == 720 && image.height == 432)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).count == 3)
        #expect(error(r.run("show concept").0) == nil)
        let csv = folder.appendingPathComponent("metrics.csv")
        #expect(error(r.run("export metrics \"\(csv.path)\"").0) == nil)
        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 5 && rows[0] == "step,loss,timesteps,g_norm,g_mse,seconds")
    }

    @Test func embeddingsSaveAndLoad() throws {
        let r = Recorder()
        let images = try conceptFolder()
        // Saving makes the file's folder, as save_pretrained does.
        let file = try Scratch.folder("gradti-embedding").appendingPathComponent("new/folder/toy.safetensors")
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)/*.png\" init=toy vectors=2")
        _ = r.run("step 2")
        #expect(error(r.run("save embedding \"\(file.path)\"").0) == nil)
        let saved = try SafeTensorsFile(file)
        let entry = try saved.entry("<toy>")
        #expect(saved.names == ["<toy>"] && entry.shape == [2, 32])
        let vectors = r.interpreter.workspace.session!.vectors!.scalars
        let stored = try saved.tensor("<toy>").scalars
        #expect(stored == vectors)

        // Embeddings load beside the concept (any number, each its own token), for prompts and negative=.
        let other = Recorder()
        _ = other.run("load \"\(sdTiny.path)\"")
        #expect(error(other.run("load embedding \"\(file.path)\"").0) == nil)
        #expect(error(other.run("load embedding \"\(file.path)\" token=<second>").0) == nil)
        let session = try #require(other.interpreter.workspace.session)
        #expect(session.concept == nil)
        #expect(session.keptEmbeddings.map(\.tokens) == [["<toy>", "<toy>_1"], ["<second>", "<second>_1"]])
        #expect(session.keptEmbeddings.allSatisfy { $0.vectors.scalars == vectors })
        #expect(error(other.run("generate \"a <toy> by a <second>\" n=1 steps=1 negative=\"<second>\"").0) == nil)
        #expect(error(other.run("step 1").0)?.evalue.contains("no concept yet") == true)
        _ = other.run("concept cube from \"\(images.path)/*.png\" init=toy")
        #expect(
            error(other.run("load embedding \"\(file.path)\" token=<cube>").0)?.evalue.contains(
                "is the concept being learned") == true)
        #expect(error(other.run("load embedding \"\(file.path)\" token=<third>").0) == nil)
        #expect(text(other).contains("as <third> <third>_1, beside the concept <cube>"))
        #expect(session.concept?.name == "cube" && session.keptEmbeddings.count == 3)
        #expect(error(other.run("step 1").0) == nil)
        #expect(error(other.run("generate \"<cube> and <toy>\" n=1 steps=1").0) == nil)
        // A session file keeps them.
        let withKept = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gradti-kept-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: withKept) }
        #expect(error(other.run("save session \"\(withKept.path)\"").0) == nil)
        let reader = Recorder()
        _ = reader.run("load \"\(sdTiny.path)\"")
        #expect(error(reader.run("load session \"\(withKept.path)\"").0) == nil)
        let restored = try #require(reader.interpreter.workspace.session)
        #expect(restored.keptEmbeddings.map(\.name) == ["toy", "second", "third"])
        #expect(restored.keptEmbeddings.map(\.vectors.scalars) == session.keptEmbeddings.map(\.vectors.scalars))
        #expect(error(reader.run("generate \"<cube> and <third>\" n=1 steps=1").0) == nil)
        // PyTorch files: A1111's .pt (its name is the token) and diffusers' learned_embeds.bin, read without
        // running their pickle.
        let pytorch = Fixtures.tests.appendingPathComponent("NumericsTests/Fixtures/pytorch")
        #expect(error(other.run("load embedding \"\(pytorch.path)/a1111-embedding.pt\" token=<a1111>").0) == nil)
        #expect(error(other.run("load embedding \"\(pytorch.path)/a1111-embedding.pt\"").0) == nil)
        #expect(session.keptEmbeddings.last?.tokens == ["<cat-toy>", "<cat-toy>_1"], "A1111's name is the token")
        #expect(error(other.run("load embedding \"\(pytorch.path)/learned_embeds.bin\"").0) == nil)
        #expect(session.keptEmbeddings.suffix(2).map(\.tokens) == [["<a1111>", "<a1111>_1"], ["<cat-toy>"]])
        #expect(
            error(other.run("load embedding \"\(pytorch.path)/legacy.bin\"").0)?.evalue.contains("legacy format")
                == true)

        // A whole session round-trips through `save session` / `load session`.
        let sessionFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gradti-session-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: sessionFile) }
        #expect(error(r.run("save session \"\(sessionFile.path)\"").0) == nil)
        let third = Recorder()
        _ = third.run("load \"\(sdTiny.path)\"")
        #expect(error(third.run("load session \"\(sessionFile.path)\"").0) == nil)
        #expect(third.interpreter.workspace.session?.stepCount == 2)
        #expect(third.interpreter.workspace.session?.vectors?.scalars == vectors)
        #expect(error(third.run("step 1").0) == nil)
    }

    @Test func anInterruptedStepKeepsTheSessionConsistent() throws {
        let r = Recorder()
        let images = try conceptFolder()
        _ = r.run("load \"\(sdTiny.path)\"")
        _ = r.run("concept toy from \"\(images.path)/0.png\" init=toy")
        _ = r.run("step 2")
        let session = try #require(r.interpreter.workspace.session)
        let vectors = session.vectors!.scalars
        r.cancellation.cancel()
        #expect(error(r.run("step 5").0)?.ename == "Interrupted")
        #expect(session.stepCount == 2 && session.vectors!.scalars == vectors && session.vectors!.grad == nil)
    }
}
