import Graphics
import Numerics
import Testing

@testable import Training

@Suite struct GenerationQualityTests {
    /// A plain 32x32 image of one grey level.
    func plain(_ level: Float) -> Image {
        Image(width: 32, height: 32, pixels: Array(repeating: level, count: 3 * 32 * 32))
    }

    /// A result whose generations are dark grey and whose real scenes are light grey.
    func result(count: Int) -> GenerationQuality.Result {
        let subjects = (0..<count).map { EmojiSubject(codePoint: 0x1F600 + UInt32($0), name: "subject \($0)") }
        return GenerationQuality.Result(
            generated: .init(), scenes: .init(), evaluatedSubjects: count, k: 5,
            images: subjects.map { _ in plain(0.2) }, sceneImages: subjects.map { _ in plain(0.7) },
            captions: subjects.map(\.name), subjects: subjects)
    }

    /// The grey levels at the centres of the first column's cells, top to bottom (the grid has 8-pixel margins).
    func firstColumn(_ grid: Image, columns: Int, rows: Int) -> [Float] {
        let cellWidth = (grid.width - 8) / columns
        let rowHeight = (grid.height - 8) / rows
        let x = 8 + (cellWidth - 8) / 2
        // Rounded to hundredths: the grid is drawn in 8-bit steps.
        return (0..<rows).map { (grid.pixels[(8 + $0 * rowHeight + 64) * grid.width + x] * 100).rounded() / 100 }
    }

    @Test func eachRowOfGenerationsIsAboveItsRealScenes() {
        // 20 captions in rows of 8: two full rows are shown, each followed by its scenes; the last 4 are left out.
        let grid = result(count: 20).comparisonGrid(rows: 4, columns: 8)
        #expect(firstColumn(grid, columns: 8, rows: 4) == [0.2, 0.7, 0.2, 0.7])
        let oneRow = result(count: 20).comparisonGrid(rows: 1, columns: 8)
        #expect(oneRow.width == grid.width)
        #expect(firstColumn(oneRow, columns: 8, rows: 2) == [0.2, 0.7])
        #expect((oneRow.height - 8) * 2 == grid.height - 8)
    }

    @Test func fewerCaptionsThanColumnsMakeOneNarrowerRow() {
        let grid = result(count: 3).comparisonGrid(rows: 4, columns: 8)
        #expect(grid.width < result(count: 8).comparisonGrid(rows: 4, columns: 8).width)
        #expect(firstColumn(grid, columns: 3, rows: 2) == [0.2, 0.7])
    }
}
