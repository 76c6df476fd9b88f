import Foundation
import Testing

@testable import Training

@Suite struct DistinctSubjectsTests {
    /// Two tight pairs of near twins and two lone points: four picks take one of each group.
    @Test func farthestPointsSkipNearTwins() {
        func unit(_ angle: Float) -> [Float] { [cos(angle), sin(angle)] }
        let points = [unit(0), unit(0.01), unit(1.6), unit(1.61), unit(3.2), unit(4.7)]
        let chosen = DistinctSubjects.farthestPoints(points, count: 4, seeds: [1])
        #expect(chosen.first == 1)
        #expect(
            Set(chosen.map { $0 / 2 }).count == 3 && chosen.contains(4) && chosen.contains(5) && !chosen.contains(0))
        #expect(DistinctSubjects.farthestPoints(points, count: 10, seeds: []).count == points.count)
    }

    @Test func seedsComeFirstOnceAndTiesGoToTheLowerIndex() {
        // Points 1 and 2 are equally far from the seed 0 (both orthogonal): the lower index wins.
        let points: [[Float]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
        #expect(DistinctSubjects.farthestPoints(points, count: 2, seeds: [0]) == [0, 1])
        #expect(DistinctSubjects.farthestPoints(points, count: 3, seeds: [3, 3, 0]) == [3, 0, 1])
        #expect(DistinctSubjects.farthestPoints(points, count: 1, seeds: [2, 1]) == [2])
    }

    @Test func namesakesPreferTheWordFirst() {
        let subjects = ["hot dog", "dog face", "guide dog", "crab", "face with tears of joy", "grinning face"]
            .enumerated()
            .map { EmojiSubject(codePoint: UInt32($0.offset), name: $0.element) }
        #expect(DistinctSubjects.namesakes(of: ["dog", "face", "crab", "cat"], in: subjects) == [1, 4, 3, nil])
    }
}

@Suite struct SubjectListTests {
    /// dog and crab are held out; snake, rat and ox are training subjects.
    let catalog = Result { try EmojiCatalog(font: font.get(), only: [0x1F980, 0x1F40D, 0x1F415, 0x1F400, 0x1F402]) }

    func scratchFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("gradti-subjects-\(UUID()).txt")
    }

    @Test func roundTripsInTheCatalogsOrderEachOnce() throws {
        let catalog = try catalog.get()
        let file = scratchFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let training = catalog.trainingSubjects
        #expect(training.map(\.name) == ["rat", "ox", "snake"])
        try SubjectList.write([training[2], training[0], training[2]], to: file, comment: "a test\nof two lines")
        #expect(
            try String(contentsOf: file, encoding: .utf8).hasPrefix(
                "# a test\n# of two lines\nU+1F40D snake\nU+1F400 rat\n"))
        #expect(try SubjectList.read(file, catalog: catalog).map(\.name) == ["rat", "snake"])
        try "# windows\r\nU+1F40D snake\r\nU+1F402\r\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try SubjectList.read(file, catalog: catalog).map(\.name) == ["ox", "snake"])
    }

    @Test func badLinesAreNamed() throws {
        let catalog = try catalog.get()
        let file = scratchFile()
        defer { try? FileManager.default.removeItem(at: file) }
        func failure(_ text: String) throws -> String {
            try text.write(to: file, atomically: true, encoding: .utf8)
            do { _ = try SubjectList.read(file, catalog: catalog) } catch { return String(describing: error) }
            return "no error"
        }
        #expect(try failure("U+1F40D snake\nU+1F415 dog\n").contains("line 2: U+1F415 is a held-out"))
        #expect(try failure("snake\n").contains("line 1: 'snake' is not an emoji"))
        #expect(try failure("U+1F40E horse\n").contains("'U+1F40E' is not an emoji of the font"))
        #expect(try failure("U+1F40D rat\n").contains("U+1F40D is 'snake', not 'rat'"))
        #expect(try failure("# nothing\n").contains("lists no subjects"))
    }

    /// A fresh run keeps its list in the folder; a run in progress must keep its subjects; a fresh run
    /// without a list forgets an earlier run's.
    @Test func aRunSettlesItsSubjectsOnce() throws {
        let catalog = try catalog.get()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-unet-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (rat, ox, snake) = (catalog.trainingSubjects[0], catalog.trainingSubjects[1], catalog.trainingSubjects[2])
        #expect(
            try SubjectList.settle([snake, rat], folder: folder, inProgress: false, catalog: catalog) == [rat, snake])
        #expect(try SubjectList.settle(nil, folder: folder, inProgress: true, catalog: catalog) == [rat, snake])
        #expect(
            try SubjectList.settle([snake, rat], folder: folder, inProgress: true, catalog: catalog) == [rat, snake])
        #expect { try SubjectList.settle([ox], folder: folder, inProgress: true, catalog: catalog) } throws: {
            String(describing: $0).contains("trains on 2 other subjects")
                && String(describing: $0).contains("without --subjects")
        }
        #expect(try SubjectList.resolve(path: nil, folder: folder, catalog: catalog) == [rat, snake])
        #expect(try SubjectList.settle(nil, folder: folder, inProgress: false, catalog: catalog) == [rat, ox, snake])
        #expect(try SubjectList.stored(in: folder, catalog: catalog) == nil)
        #expect { try SubjectList.settle([ox], folder: folder, inProgress: true, catalog: catalog) } throws: {
            String(describing: $0).contains("trains on 3 other subjects")
        }
    }
}
