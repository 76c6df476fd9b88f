import Foundation
import TestSupport
import Testing

@testable import Inversion

/// google/dreambooth's `dataset/` folder read as a benchmark, from a copy of its layout in miniature.
@Suite struct DreamBoothLayoutTests {
    static let file = """
        Classes

        subject_name,class
        bear_plushie,stuffed animal
        dog2,dog
        teapot,teapot


        Prompts

        Object Prompts

        prompt_list = [
        'a {0} {1} in the jungle'.format(unique_token, class_token),
        'a cube shaped {0} {1}'.format(unique_token, class_token)
        ]

        Live Subject Prompts

        prompt_list = [
        'a {0} {1} in the jungle'.format(unique_token, class_token),
        'a {0} {1} wearing a red hat'.format(unique_token, class_token),
        "a {0} {1} in a chef outfit".format(unique_token, class_token)
        ]
        """

    func dataset(_ text: String = Self.file, subjects: [String] = ["bear_plushie", "dog2", "teapot"]) throws -> URL {
        let folder = try Scratch.folder("gradti-dreambooth")
        try Data(text.utf8).write(to: folder.appendingPathComponent(DreamBoothLayout.fileName))
        let images = try conceptImages(2)
        for subject in subjects {
            let dir = folder.appendingPathComponent(subject)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (i, image) in images.enumerated() {
                try FileManager.default.copyItem(at: image, to: dir.appendingPathComponent("0\(i).jpg"))
            }
        }
        return folder
    }

    @Test func subjectsClassesAndPromptsAsTheDatasetAssignsThem() throws {
        let subjects = try BenchmarkFile.read(try dataset())
        #expect(subjects.map(\.slug) == ["bear_plushie", "dog2", "teapot"])
        #expect(subjects.map(\.initWord) == ["animal", "dog", "teapot"])
        #expect(subjects[0].images == ["00.jpg", "01.jpg"] && subjects[0].captions.isEmpty)
        // Live subjects (dogs and cats) take the live list; the class word stays after the placeholder.
        #expect(
            subjects[1].prompts == ["a {} dog in the jungle", "a {} dog wearing a red hat", "a {} dog in a chef outfit"]
        )
        #expect(subjects[0].prompts == ["a {} stuffed animal in the jungle", "a cube shaped {} stuffed animal"])
        #expect(subjects[2].prompts == ["a {} teapot in the jungle", "a cube shaped {} teapot"])
    }

    @Test func aMissingFolderOrAMalformedLineIsAClearError() throws {
        #expect { try BenchmarkFile.read(try dataset(subjects: ["dog2"])) } throws: {
            String(describing: $0).contains("no folder of images beside it: bear_plushie, teapot")
        }
        let bad = Self.file.replacingOccurrences(of: "'a cube shaped {0} {1}'", with: "a cube shaped")
        #expect { try BenchmarkFile.read(try dataset(bad)) } throws: {
            String(describing: $0).contains("\"a cube shaped.format(unique_token, class_token)\" under Object Prompts")
        }
        let noLists = String(Self.file.prefix { $0 != "P" })
        #expect { try BenchmarkFile.read(try dataset(noLists)) } throws: {
            String(describing: $0).contains("needs a Classes list and the Object Prompts and Live Subject Prompts")
        }
        #expect { try BenchmarkFile.read(try Scratch.folder("gradti-not-a-benchmark")) } throws: {
            String(describing: $0).contains("holds neither subjects.json")
        }
    }
}
