import Foundation
import KithClient
import Testing

/// `kith invite` draws the invitation link as a QR code; these check the codes with a real reader (zbarimg, from
/// Debian's zbar-tools, which the test command installs), for every version the encoder makes.
@Suite struct QRCodeTests {
    @Test(arguments: [1, 14, 30, 60, 84, 106, 122, 152, 180, 213])
    func aRealReaderReadsTheCodeBack(length: Int) throws {
        let text = String(String(repeating: "https://kith.example.org/family/i/kith_Ab-9_", count: 6).prefix(length))
        let code = try QRCode(Array(text.utf8))
        #expect(try Self.read(code) == text)
    }

    @Test func tooLongForTheLargestVersionIsRefused() {
        #expect(throws: QRCode.TooLong.self) { try QRCode(Array(repeating: UInt8(ascii: "a"), count: 214)) }
    }

    @Test func theTerminalDrawingHasTwoRowsOfModulesALine() throws {
        let code = try QRCode(Array("kith".utf8))
        let lines = code.lines(quietZone: 4)
        #expect(code.size == 21)
        #expect(lines.count == (21 + 8 + 1) / 2)
        #expect(lines.allSatisfy { $0.count == 21 + 8 })
        // The top-left finder pattern's first row: seven dark modules after the quiet zone.
        #expect(lines[2].dropFirst(4).prefix(7).allSatisfy { $0 == "█" || $0 == "▀" })
    }

    /// Renders the code as a PGM image (8 pixels a module, 4 modules of quiet zone) and asks zbarimg what it says.
    static func read(_ code: QRCode) throws -> String {
        let scale = 8, quiet = 4
        let side = (code.size + 2 * quiet) * scale
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<code.size {
            for x in 0..<code.size where code.modules[y][x] {
                for dy in 0..<scale {
                    for dx in 0..<scale { pixels[((y + quiet) * scale + dy) * side + (x + quiet) * scale + dx] = 0 }
                }
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kith-qr-\(UUID().uuidString).pgm")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Data("P5 \(side) \(side) 255\n".utf8) + Data(pixels)).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--quiet", "--raw", "-Sbinary", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
