import Foundation
import Graphics
import Jupyter
import Numerics

/// `show` of several files: one image, a grid of them with each file's name underneath, rather than a
/// column of separate outputs. Each image is fitted into a square cell (shrunk with area averaging, or a
/// small one enlarged by a whole factor, pixels kept sharp), upright by its EXIF orientation.
struct ImageGrid {
    /// The side of a cell: large enough to recognise a photo, small enough for 4 in a row.
    static let cell = 192

    private(set) var thumbnails: [Image] = []
    private(set) var labels: [String] = []
    /// "a.jpg (JPEG 4000x3000)", for the text fallback.
    private(set) var descriptions: [String] = []

    /// Reads one file into the grid; a damaged file is an error naming it.
    mutating func add(_ url: URL, shownAs name: String) throws {
        let data: Data
        do { data = try FileAccess.read(url, limit: ImageFile.maxFileBytes) } catch {
            throw CommandError("cannot read \(name): \(error)")
        }
        let decoded: RGBAImage
        do { decoded = try ImageFile.decode(data, source: name) } catch { throw CommandError("\(error)") }
        let bytesFormat = ImageFile.format(of: data) ?? "image"
        thumbnails.append(Self.fitted(decoded.composited()))
        labels.append(Self.label(url.lastPathComponent))
        descriptions.append("\(name) (\(bytesFormat) \(decoded.width)x\(decoded.height))")
    }

    /// `image` fitted into a `cell`-sided square on white, centred.
    static func fitted(_ image: Image) -> Image {
        let longer = max(image.width, image.height)
        let scaled: Image
        if longer > cell {
            let (w, h) = (max(1, image.width * cell / longer), max(1, image.height * cell / longer))
            scaled = image.resized(width: w, height: h, filter: .area)
        } else {
            let factor = max(1, cell / longer)
            scaled = image.resized(width: image.width * factor, height: image.height * factor, filter: .nearest)
        }
        var square = Image(width: cell, height: cell, pixels: [Float](repeating: 1, count: 3 * cell * cell))
        let (x0, y0) = ((cell - scaled.width) / 2, (cell - scaled.height) / 2)
        for c in 0..<3 {
            for y in 0..<scaled.height {
                for x in 0..<scaled.width {
                    square.pixels[c * cell * cell + (y0 + y) * cell + x0 + x] =
                        scaled.pixels[c * scaled.width * scaled.height + y * scaled.width + x]
                }
            }
        }
        return square
    }

    /// A file name short enough for its cell ("a-very-long-na….jpg" keeps the extension).
    static func label(_ name: String) -> String {
        let fits = cell / Canvas.textWidth("x")
        guard name.count > fits else { return name }
        let ext = (name as NSString).pathExtension
        let keep = ext.isEmpty || ext.count > 5 ? "" : "." + ext
        return String(name.prefix(fits - 1 - keep.count)) + "…" + keep
    }

    /// The grid as a display bundle: the PNG, and a text fallback listing the files.
    func bundle(columns: Int) throws -> (MimeBundle, [String: JSON]) {
        let grid = Canvas.labelledGrid(thumbnails, labels: labels, columns: columns, minimumSide: Self.cell)
        let png: Data
        do { png = try grid.pngData() } catch { throw CommandError("cannot show the grid: \(error)") }
        let text = "<\(thumbnails.count) images: \(descriptions.joined(separator: ", "))>"
        return (
            ["image/png": .string(png.base64EncodedString()), "text/plain": .string(text)],
            ["image/png": ["width": .int(grid.width), "height": .int(grid.height)]]
        )
    }
}
