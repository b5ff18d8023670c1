import Testing
import KithServer
import HummingbirdTesting
@Test func p() { #expect(1 + 1 == 2) }
