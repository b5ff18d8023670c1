/// A QR code (ISO/IEC 18004) of some bytes, error correction level M, version 1 to 10 (up to 213 bytes: an
/// invitation link fits in version 5 or 6), so `kith invite` can show a family member's link on the screen to scan.
/// The construction follows the standard step by step, as Project Nayuki's reference implementation lays it out.
package struct QRCode: Sendable {
    package let size: Int
    /// `modules[row][column]`, true for dark.
    package private(set) var modules: [[Bool]]
    private var isFunction: [[Bool]]

    package struct TooLong: Error {}

    /// Error correction level M for versions 1...10: codewords of error correction per block, and the blocks'
    /// data codewords (a second group has one more each).
    private static let blocks: [(ec: Int, count1: Int, data1: Int, count2: Int)] = [
        (10, 1, 16, 0), (16, 1, 28, 0), (26, 1, 44, 0), (18, 2, 32, 0), (24, 2, 43, 0),
        (16, 4, 27, 0), (18, 4, 31, 0), (22, 2, 38, 2), (22, 3, 36, 2), (26, 4, 43, 1),
    ]
    private static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]

    package init(_ bytes: [UInt8]) throws {
        func dataCapacity(_ version: Int) -> Int {
            let b = Self.blocks[version - 1]
            return b.count1 * b.data1 + b.count2 * (b.data1 + 1)
        }
        // Byte mode: 4 bits of mode, 8 (versions 1-9) or 16 bits of length, the bytes.
        guard let version = (1...10).first(where: { ($0 < 10 ? 12 : 20) + bytes.count * 8 <= dataCapacity($0) * 8 }) else {
            throw TooLong()
        }
        size = version * 4 + 17
        modules = Array(repeating: Array(repeating: false, count: size), count: size)
        isFunction = modules

        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) { for i in (0..<count).reversed() { bits.append((value >> i) & 1 == 1) } }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacity = dataCapacity(version) * 8
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var data: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while data.count < capacity / 8 {
            data.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }

        drawFunctionPatterns(version: version)
        draw(codewords: Self.interleaved(data, version: version))
        // The mask that leaves the fewest patterns a reader could mistake, as the standard scores them.
        var best = (mask: 0, penalty: Int.max)
        for mask in 0..<8 {
            apply(mask: mask)
            drawFormat(mask: mask)
            let penalty = self.penalty()
            if penalty < best.penalty { best = (mask, penalty) }
            apply(mask: mask)
        }
        apply(mask: best.mask)
        drawFormat(mask: best.mask)
    }

    // MARK: Function patterns

    private mutating func set(_ column: Int, _ row: Int, _ dark: Bool) {
        modules[row][column] = dark
        isFunction[row][column] = true
    }

    private mutating func drawFunctionPatterns(version: Int) {
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 where (0..<size).contains(x + dx) && (0..<size).contains(y + dy) {
                    let distance = max(abs(dx), abs(dy))
                    set(x + dx, y + dy, distance != 2 && distance != 4)
                }
            }
        }
        let centres = Self.alignment[version - 1]
        for (i, x) in centres.enumerated() {
            for (j, y) in centres.enumerated() {
                let corner = (i == 0 && j == 0) || (i == 0 && j == centres.count - 1) || (i == centres.count - 1 && j == 0)
                guard !corner else { continue }
                for dy in -2...2 { for dx in -2...2 { set(x + dx, y + dy, max(abs(dx), abs(dy)) != 1) } }
            }
        }
        drawFormat(mask: 0)
        if version >= 7 {
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let bits = version << 12 | remainder
            for i in 0..<18 {
                let dark = (bits >> i) & 1 == 1
                set(size - 11 + i % 3, i / 3, dark)
                set(i / 3, size - 11 + i % 3, dark)
            }
        }
    }

    /// The format information (level M, the mask) in its two copies, and the module that is always dark.
    private mutating func drawFormat(mask: Int) {
        let data = 0b00 << 3 | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = (data << 10 | remainder) ^ 0x5412
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0..<6 { set(8, i, bit(i)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for i in 9..<15 { set(14 - i, 8, bit(i)) }
        for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
        for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
        set(8, size - 8, true)
    }

    // MARK: Data

    /// The data split into the version's blocks, each followed by its Reed-Solomon codewords, interleaved.
    private static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let layout = blocks[version - 1]
        var split: [[UInt8]] = []
        var start = 0
        for index in 0..<(layout.count1 + layout.count2) {
            let length = layout.data1 + (index < layout.count1 ? 0 : 1)
            split.append(Array(data[start..<start + length]))
            start += length
        }
        let divisor = reedSolomonDivisor(degree: layout.ec)
        let corrections = split.map { reedSolomonRemainder($0, divisor: divisor) }
        var result: [UInt8] = []
        for i in 0..<(layout.data1 + 1) { for block in split where i < block.count { result.append(block[i]) } }
        for i in 0..<layout.ec { for block in corrections { result.append(block[i]) } }
        return result
    }

    private static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z = 0
        for i in (0..<8).reversed() {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= Int((y >> i) & 1) * Int(x)
        }
        return UInt8(z)
    }

    private static func reedSolomonDivisor(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    private static func reedSolomonRemainder(_ data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for i in result.indices { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }

    /// Codeword bits in the standard's zigzag, two columns at a time from the bottom right, around the function patterns.
    private mutating func draw(codewords: [UInt8]) {
        var index = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for j in 0..<2 {
                    let x = right - j
                    let upward = (right + 1) & 2 == 0
                    let y = upward ? size - 1 - vertical : vertical
                    if !isFunction[y][x] && index < codewords.count * 8 {
                        modules[y][x] = (codewords[index >> 3] >> (7 - (index & 7))) & 1 == 1
                        index += 1
                    }
                }
            }
            right -= 2
        }
    }

    /// Masks are their own inverse: applying one twice leaves the data as it was.
    private mutating func apply(mask: Int) {
        for y in 0..<size {
            for x in 0..<size where !isFunction[y][x] {
                let invert = switch mask {
                case 0: (x + y) % 2 == 0
                case 1: y % 2 == 0
                case 2: x % 3 == 0
                case 3: (x + y) % 3 == 0
                case 4: (x / 3 + y / 2) % 2 == 0
                case 5: x * y % 2 + x * y % 3 == 0
                case 6: (x * y % 2 + x * y % 3) % 2 == 0
                default: ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if invert { modules[y][x].toggle() }
            }
        }
    }

    /// The standard's four penalty rules: long runs, 2×2 blocks, finder-like patterns, and imbalance of dark and light.
    private func penalty() -> Int {
        var total = 0
        let finderLike: [[Bool]] = [
            [true, false, true, true, true, false, true, false, false, false, false],
            [false, false, false, false, true, false, true, true, true, false, true],
        ]
        for line in 0..<size {
            for lines in [modules[line], modules.map { $0[line] }] {
                var run = 1
                for i in 1..<size {
                    if lines[i] == lines[i - 1] {
                        run += 1
                    } else {
                        if run >= 5 { total += run - 2 }
                        run = 1
                    }
                }
                if run >= 5 { total += run - 2 }
                for start in 0...(size - 11) where finderLike.contains(where: { $0.elementsEqual(lines[start..<start + 11]) }) {
                    total += 40
                }
            }
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let colour = modules[y][x]
                if colour == modules[y][x + 1] && colour == modules[y + 1][x] && colour == modules[y + 1][x + 1] { total += 3 }
            }
        }
        let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
        let cells = size * size
        // Ten points for each five per cent the dark share is away from half.
        total += max(0, (abs(dark * 20 - cells * 10) + cells - 1) / cells - 1) * 10
        return total
    }

    /// The code as text for a terminal: two rows of modules per line in half blocks, with the quiet zone around it.
    /// Dark modules are drawn in the foreground colour, so the screen must show dark on light (or be given colours).
    package func lines(quietZone: Int = 4) -> [String] {
        let side = size + 2 * quietZone
        func dark(_ row: Int, _ column: Int) -> Bool {
            let (y, x) = (row - quietZone, column - quietZone)
            return (0..<size).contains(y) && (0..<size).contains(x) && modules[y][x]
        }
        return stride(from: 0, to: side, by: 2).map { row in
            String((0..<side).map { column -> Character in
                switch (dark(row, column), row + 1 < side && dark(row + 1, column)) {
                case (true, true): "█"
                case (true, false): "▀"
                case (false, true): "▄"
                case (false, false): " "
                }
            })
        }
    }
}
