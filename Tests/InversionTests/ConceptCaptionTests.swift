import Diffusion
import Foundation
import Numerics
import Testing

@testable import Inversion

/// Concept images with caption files next to them (IMAGE.txt), as the emoji benchmark has.
@Suite struct ConceptCaptionTests {
    let captions = [
        "a {} on a red background, small, left", "a {} on a blue background\na {} on a blue background, large, center",
        "a {} on a green background, medium, right"
    ]

    func captioned(_ captions: [String?]) throws -> [URL] {
        let images = try conceptImages(captions.count)
        for (image, caption) in zip(images, captions) {
            if let caption { try Data(caption.utf8).write(to: Concept.captionFile(image)) }
        }
        return images
    }

    @Test func eachImageTrainsWithItsOwnCaptionAndIsNotMirrored() throws {
        let s = try session()
        try s.setConcept(name: "crab", images: try captioned(captions), initWord: "cat")
        let concept = try #require(s.concept)
        #expect(concept.kind == .captions)
        #expect(concept.captions == captions.map { $0.split(separator: "\n").map(String.init) })
        var seen = Set<String>()
        for _ in 0..<60 {
            let item = s.drawItem(concept)
            #expect(!item.mirrored)
            let expected = concept.captions[item.image].map { $0.replacingOccurrences(of: "{}", with: "<crab>") }
            #expect(expected.contains(item.prompt), "image \(item.image) trained with \"\(item.prompt)\"")
            seen.insert(item.prompt)
        }
        #expect(seen.count == 4, "every caption, both alternatives of image 1 included, is drawn")
        #expect(concept.templates.count == 4)
        try s.step()
    }

    @Test func templatesWhenAnImageHasNoCaptionOrWhenAsked() throws {
        let s = try session()
        try s.setConcept(name: "crab", images: try captioned([captions[0], nil]), initWord: "cat")
        #expect(s.concept?.kind == .object)
        let items = (0..<40).map { _ in s.drawItem(s.concept!) }
        #expect(items.contains { $0.mirrored } && items.contains { !$0.mirrored })
        #expect(
            items.allSatisfy { item in
                ConceptKind.object.templates.contains {
                    $0.replacingOccurrences(of: "{}", with: "<crab>") == item.prompt
                }
            })
        try s.setConcept(name: "crab", images: try captioned(captions), initWord: "cat", kind: .style)
        #expect(s.concept?.kind == .style)
    }

    @Test func aMissingOrBadCaptionSaysWhichFileWhenCaptionsAreAskedFor() throws {
        let s = try session()
        let images = try captioned([captions[0], nil])
        #expect { try s.setConcept(name: "crab", images: images, initWord: "cat", kind: .captions) } throws: {
            String(describing: $0).contains(Concept.captionFile(images[1]).path)
                && String(describing: $0).contains("kind=object")
        }
        let empty = try captioned(["\n \n"])
        #expect { try s.setConcept(name: "crab", images: empty, initWord: "cat", kind: .captions) } throws: {
            String(describing: $0).contains("holds no caption")
        }
        let long = try captioned(["a " + String(repeating: "very ", count: 80) + "red {}"])
        #expect { try s.setConcept(name: "crab", images: long, initWord: "cat", kind: .captions) } throws: {
            String(describing: $0).contains("shorten it")
        }
        #expect(s.concept?.name == "cat-toy", "a failed concept keeps the session's concept")
    }

    /// An empty caption file does not stop a concept made without kind: the templates are used, and the
    /// concept says why.
    @Test func unusableCaptionsFallBackToTheTemplatesWithAReason() throws {
        let s = try session()
        try s.setConcept(name: "crab", images: try captioned([" \n", captions[2]]), initWord: "cat")
        #expect(s.concept?.kind == .object && s.concept?.ignoredCaptions?.contains("holds no caption") == true)
        try s.setConcept(name: "crab", images: try captioned([nil, nil]), initWord: "cat")
        #expect(s.concept?.kind == .object && s.concept?.ignoredCaptions == nil)
    }

    /// kohya's and A1111's captions name no placeholder: the concept takes the init word's (or phrase's)
    /// first whole-word place, any case, else the front.
    @Test func captionsWithoutAPlaceholderTakeTheInitWordsPlaceOrTheFront() throws {
        #expect(
            Captions.place("a photo of a Dog on the beach, dog bowl", initWord: "dog")
                == "a photo of a {} on the beach, dog bowl")
        #expect(Captions.place("a hotdog stand", initWord: "dog") == "{}, a hotdog stand")
        #expect(Captions.place("a brown stuffed animal on a bed", initWord: "stuffed animal") == "a brown {} on a bed")
        #expect(Captions.place("1girl, solo, beach", initWord: "object") == "{}, 1girl, solo, beach")
        #expect(Captions.place("a {} by a dog", initWord: "dog") == "a {} by a dog")
        let s = try session()
        try s.setConcept(
            name: "crab", images: try captioned(["a cat on a red background", "a photo\n{} on blue"]), initWord: "cat")
        #expect(s.concept?.kind == .captions)
        #expect(s.concept?.captions == [["a {} on a red background"], ["{}, a photo", "{} on blue"]])
    }

    /// A1111's template files: [name] for the concept, [filewords] for each image's caption or file name.
    @Test func a1111TemplateFilesMakeEachImagesCaptions() throws {
        let images = try captioned(["a crab, red background", nil])
        let named = images[1].deletingLastPathComponent().appendingPathComponent("0042-sandy_beach.png")
        try? FileManager.default.removeItem(at: named)
        try FileManager.default.copyItem(at: images[1], to: named)
        let file = images[0].deletingLastPathComponent().appendingPathComponent("templates.txt")
        try Data("a photo of a [name], [filewords]\n\nan image of [name]\n".utf8).write(to: file)
        let s = try session()
        try s.setConcept(name: "crab", images: [images[0], named], initWord: "cat", templates: file)
        #expect(
            s.concept?.captions == [
                ["a photo of a {}, a crab, red background", "an image of {}"],
                ["a photo of a {}, sandy beach", "an image of {}"]
            ])
        try Data("a photo of a [filewords]\n".utf8).write(to: file)
        #expect { try s.setConcept(name: "crab", images: images, initWord: "cat", templates: file) } throws: {
            String(describing: $0).contains("has no [name]")
        }
        #expect {
            try s.setConcept(name: "crab", images: images, initWord: "cat", kind: .object, templates: file)
        } throws: {
            String(describing: $0).contains("leave kind= out")
        }
    }

    /// An init phrase of several tokens is spread over the vectors in order (diffusers #4450).
    @Test func anInitPhraseIsSpreadOverTheVectors() throws {
        let s = try session()
        let tokenizer = s.pipeline.tokenizer
        let ids = tokenizer.tokenize("stuffed animal")
        try #require(ids.count == 2)
        try s.setConcept(name: "bear", images: try captioned([nil]), initWord: "stuffed animal", vectors: 4)
        let rows = try #require(s.vectors).scalars
        let d = rows.count / 4
        let (first, second) = (
            s.pipeline.textEncoder.tokenEmbedding(of: ids[0]), s.pipeline.textEncoder.tokenEmbedding(of: ids[1])
        )
        #expect(Array(rows[0..<d]) == first && Array(rows[d..<(2 * d)]) == first)
        #expect(Array(rows[(2 * d)..<(3 * d)]) == second && Array(rows[(3 * d)...]) == second)
        #expect { try s.setConcept(name: "bear", images: try captioned([nil]), initWord: "stuffed animal") } throws: {
            String(describing: $0).contains("2 tokens for 1 vector: give vectors=2")
        }
    }

    /// Object and style concepts draw (image, mirror, template) from the session's generator in that
    /// order, as before captions existed, so their seeded runs are unchanged.
    @Test func templateConceptsDrawAsBefore() throws {
        let s = try session(seed: 11)
        let concept = try #require(s.concept)
        var g = RandomGenerator(seed: 11)
        let templates = ConceptKind.object.templates
        for _ in 0..<20 {
            let image = Int(g.next() % UInt64(concept.images.count))
            let mirrored = g.next() & 1 == 1
            let prompt = templates[Int(g.next() % UInt64(templates.count))].replacingOccurrences(
                of: "{}", with: "<cat-toy>")
            let item = s.drawItem(concept)
            #expect(item.image == image && item.mirrored == mirrored && item.prompt == prompt)
        }
    }

    @Test func aSavedSessionKeepsTheCaptions() throws {
        let s = try session()
        try s.setConcept(name: "crab", images: try captioned(captions), initWord: "cat")
        try s.step()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-session-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try s.saveSession(to: file)
        let copy = InversionSession(
            pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
        try copy.loadSession(from: file)
        #expect(copy.concept?.kind == .captions && copy.concept?.captions == s.concept?.captions)
        let a = try s.step()
        let b = try copy.step()
        #expect(a.loss == b.loss)
    }
}
