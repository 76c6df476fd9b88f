import Diffusion
import Foundation
import Testing
@testable import Inversion

/// Concept images with caption files next to them (IMAGE.txt), as the emoji benchmark has.
@Suite struct ConceptCaptionTests {
    let captions = ["a {} on a red background, small, left", "a {} on a blue background\na {} on a blue background, large, center",
                    "a {} on a green background, medium, right"]

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
        #expect(items.allSatisfy { item in ConceptKind.object.templates.contains { $0.replacingOccurrences(of: "{}", with: "<crab>") == item.prompt } })
        try s.setConcept(name: "crab", images: try captioned(captions), initWord: "cat", kind: .style)
        #expect(s.concept?.kind == .style)
    }

    @Test func aMissingOrBadCaptionSaysWhichFile() throws {
        let s = try session()
        let images = try captioned([captions[0], nil])
        #expect { try s.setConcept(name: "crab", images: images, initWord: "cat", kind: .captions) } throws: {
            String(describing: $0).contains(Concept.captionFile(images[1]).path)
        }
        let noPlaceholder = try captioned(["a crab on a red background"])
        #expect { try s.setConcept(name: "crab", images: noPlaceholder, initWord: "cat") } throws: {
            String(describing: $0).contains("has no {}")
        }
        let empty = try captioned(["\n \n"])
        #expect { try s.setConcept(name: "crab", images: empty, initWord: "cat") } throws: { String(describing: $0).contains("holds no caption") }
        #expect(s.concept?.name == "cat-toy", "a failed concept keeps the session's concept")
    }

    @Test func aSavedSessionKeepsTheCaptions() throws {
        let s = try session()
        try s.setConcept(name: "crab", images: try captioned(captions), initWord: "cat")
        try s.step()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-session-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try s.saveSession(to: file)
        let copy = InversionSession(pipeline: try StableDiffusionPipeline(folder: fixture.appendingPathComponent("pipeline")))
        try copy.loadSession(from: file)
        #expect(copy.concept?.kind == .captions && copy.concept?.captions == s.concept?.captions)
        let a = try s.step(), b = try copy.step()
        #expect(a.loss == b.loss)
    }
}
