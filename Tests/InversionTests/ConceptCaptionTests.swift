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
        let noPlaceholder = try captioned(["a crab on a red background"])
        #expect { try s.setConcept(name: "crab", images: noPlaceholder, initWord: "cat", kind: .captions) } throws: {
            String(describing: $0).contains("has no {}")
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

    /// Caption files of other tools (no {}) do not stop a concept made without kind: the templates are
    /// used, and the concept says why.
    @Test func unusableCaptionsFallBackToTheTemplatesWithAReason() throws {
        let s = try session()
        try s.setConcept(
            name: "crab", images: try captioned(["a crab on a red background", captions[2]]), initWord: "cat")
        #expect(s.concept?.kind == .object && s.concept?.ignoredCaptions?.contains("has no {}") == true)
        try s.setConcept(name: "crab", images: try captioned([nil, nil]), initWord: "cat")
        #expect(s.concept?.kind == .object && s.concept?.ignoredCaptions == nil)
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
