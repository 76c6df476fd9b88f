import ArgumentParser
import Diffusion
import Foundation
import Graphics
import Numerics
import Training

/// The emoji dataset the embedded model is trained on.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Emoji scenes from Noto Color Emoji: preview them, list the subjects, write the benchmark.",
        subcommands: [Preview.self, Subjects.self, Distinct.self, WriteBenchmark.self, WriteGeneric.self])

    struct FontOptions: ParsableArguments {
        @Option(help: "The CBDT colour emoji font.")
        var font = ColorEmojiFont.defaultPath

        func catalog() throws -> EmojiCatalog { try EmojiCatalog(font: ColorEmojiFont(path: font)) }
    }

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a grid of scenes (enlarged, labelled) and print their captions.")

        @OptionGroup var fontOptions: FontOptions
        @Option(help: "How many scenes.") var count = 24
        @Option(help: "The stream's seed.") var seed: UInt64 = 0
        @Option(help: "Scene side in pixels.") var side = 32
        @Flag(help: "Scenes of the held-out benchmark subjects only.") var heldOut = false
        @Option(help: "The PNG to write.") var output = "dataset-preview.png"

        func run() throws {
            let catalog = try fontOptions.catalog()
            let held = Set(HeldOutSubjects.all.map(\.codePoint))
            let subjects = heldOut ? catalog.subjects.filter { held.contains($0.codePoint) } : catalog.trainingSubjects
            let generator = SceneGenerator(catalog: catalog, subjects: subjects, side: side, seed: seed)
            let scenes = (0..<count).map(generator.scene)
            for (i, scene) in scenes.enumerated() { print("\(i): \(scene.caption)") }
            let grid = Canvas.labelledGrid(
                scenes.map(\.image), labels: scenes.map { String($0.subject.name.prefix(18)) }, columns: 6)
            try grid.writePNG(to: URL(fileURLWithPath: output))
            print("wrote \(output) (\(grid.width)x\(grid.height))")
        }
    }

    struct Subjects: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the emoji subjects, marking the held-out ones.")

        @OptionGroup var fontOptions: FontOptions

        func run() throws {
            let catalog = try fontOptions.catalog()
            let held = Set(HeldOutSubjects.all.map(\.codePoint))
            for s in catalog.subjects {
                print(
                    String(format: "U+%05X", s.codePoint), held.contains(s.codePoint) ? "held-out" : "        ", s.name)
            }
            print(
                "\(catalog.subjects.count) subjects, \(catalog.trainingSubjects.count) for training, \(held.count) "
                    + "held out"
            )
        }
    }

    struct Distinct: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Choose the training subjects that look least alike to a model's tiny CLIP, and write them as a list.")

        @OptionGroup var fontOptions: FontOptions
        @Option(help: "A folder with the tiny CLIP's image_encoder/: a pipeline, or the CLIP training folder.")
        var model = "models/gradti-emoji"
        @Option(help: "How many subjects.") var count = 400
        @Option(help: "The list to write.") var output = "unet-subjects.txt"

        func validate() throws { guard count >= 1 else { throw ValidationError("--count must be at least 1") } }

        func run() throws {
            let catalog = try fontOptions.catalog()
            let vision = try CLIPVisionModel(
                folder: URL(fileURLWithPath: model).appendingPathComponent("image_encoder"))
            let (chosen, unnamed) = DistinctSubjects.choose(count: count, catalog: catalog, vision: vision)
            // In the order chosen, so that the first lines of the list are a smaller distinct set.
            try SubjectList.write(
                chosen, to: URL(fileURLWithPath: output),
                comment: """
                    \(chosen.count) of the \(catalog.trainingSubjects.count) training subjects that look least \
                    alike to the tiny CLIP of \(model)
                    (gradti dataset distinct --count \(count)), in the order chosen: first one named by each init \
                    word of the held-out
                    subjects, then each next one the least like those before it. One line per subject: code point, \
                    Unicode name.
                    """)
            print(
                "wrote \(output): \(chosen.count) subjects; the first chosen: "
                    + "\(chosen.prefix(12).map(\.name).joined(separator: ", "))"
            )
            if !unnamed.isEmpty {
                print("warning: no training subject is named by the init words \(unnamed.joined(separator: ", "))")
            }
            let namedCount = Set(HeldOutSubjects.all.map(\.initWord)).count - unnamed.count
            if count < namedCount {
                print(
                    "warning: --count \(count) is below the \(namedCount) subjects named by init words, so some init "
                        + "words have none"
                )
            }
        }
    }

    struct WriteGeneric: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generic",
            abstract: "Write generic concepts (subjects the model's UNet was trained on) for `profile model`.")

        @OptionGroup var fontOptions: FontOptions
        @Option(help: "The model folder: its unet/training_subjects.txt says which subjects it saw.")
        var model = "models/gradti-emoji"
        @Option(help: "How many concepts.") var count = 8
        @Option(help: "Scene side in pixels.") var side = 32
        @Option(help: "The folder to write (default: MODEL/generic-concepts).") var output: String?

        func run() throws {
            let catalog = try fontOptions.catalog()
            let folder = URL(fileURLWithPath: model)
            let subjects = try SubjectList.resolve(
                path: nil, folder: folder.appendingPathComponent("unet"), catalog: catalog)
            let target =
                output.map { URL(fileURLWithPath: $0) }
                ?? folder.appendingPathComponent(GenericConcepts.folderName)
            let generator = SceneGenerator(catalog: catalog, subjects: subjects, side: side)
            let written = try GenericConcepts.write(
                to: target, subjects: subjects, count: count, generator: generator)
            print(
                "wrote \(written.count) generic concepts to \(target.path): "
                    + written.map(\.slug).joined(separator: ", ")
            )
        }
    }

    struct WriteBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "benchmark", abstract: "Write the held-out subjects' concept images and subjects.json.")

        @OptionGroup var fontOptions: FontOptions
        @Option(help: "Scene side in pixels.") var side = 32
        @Option(help: "The folder to write.") var output = "data/emoji-benchmark"

        func run() throws {
            let catalog = try fontOptions.catalog()
            let generator = SceneGenerator(catalog: catalog, subjects: catalog.subjects, side: side)
            let subjects = try Benchmark.write(to: URL(fileURLWithPath: output), generator: generator)
            print("wrote \(subjects.count) subjects x \(Benchmark.imagesPerSubject) images to \(output)")
        }
    }
}
