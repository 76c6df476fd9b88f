import Foundation
import Testing
@testable import Training

@Suite struct DistinctSubjectsTests {
    /// Two tight pairs of near twins and two lone points: four picks take one of each group.
    @Test func farthestPointsSkipNearTwins() {
        func unit(_ angle: Float) -> [Float] { [cos(angle), sin(angle)] }
        let points = [unit(0), unit(0.01), unit(1.6), unit(1.61), unit(3.2), unit(4.7)]
        let chosen = DistinctSubjects.farthestPoints(points, count: 4, first: [1])
        #expect(chosen.first == 1)
        #expect(Set(chosen.map { $0 / 2 }).count == 3 && chosen.contains(4) && chosen.contains(5) && !chosen.contains(0))
        #expect(DistinctSubjects.farthestPoints(points, count: 4, first: [1]) == chosen)
        #expect(DistinctSubjects.farthestPoints(points, count: 10, first: []).count == points.count)
    }

    @Test func namesakesPreferTheWordFirst() {
        let subjects = ["hot dog", "dog face", "guide dog", "crab", "face with tears of joy", "grinning face"].enumerated()
            .map { EmojiSubject(codePoint: UInt32($0.offset), name: $0.element) }
        #expect(DistinctSubjects.namesakes(of: ["dog", "face", "crab", "cat"], in: subjects) == [1, 4, 3])
    }
}

@Suite struct SubjectListTests {
    @Test func roundTripsAndNamesBadLines() throws {
        let font = try font.get()
        let catalog = try EmojiCatalog(font: font, only: [0x1F980, 0x1F40D, 0x1F415])   // crab (held out), snake, dog (held out)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-subjects-\(UUID()).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try SubjectList.write(catalog.trainingSubjects, to: file, comment: "a test\nof two lines")
        #expect(try SubjectList.read(file, catalog: catalog) == catalog.trainingSubjects)
        #expect(try String(contentsOf: file, encoding: .utf8).hasPrefix("# a test\n# of two lines\nU+1F40D snake"))

        try "U+1F40D snake\nU+1F415 dog\n".write(to: file, atomically: true, encoding: .utf8)
        #expect { try SubjectList.read(file, catalog: catalog) } throws: { String(describing: $0).contains("line 2: U+1F415 is a held-out") }
        try "snake\n".write(to: file, atomically: true, encoding: .utf8)
        #expect { try SubjectList.read(file, catalog: catalog) } throws: { String(describing: $0).contains("line 1: 'snake' is not an emoji") }
        try "# nothing\n".write(to: file, atomically: true, encoding: .utf8)
        #expect { try SubjectList.read(file, catalog: catalog) } throws: { String(describing: $0).contains("lists no subjects") }
    }
}
