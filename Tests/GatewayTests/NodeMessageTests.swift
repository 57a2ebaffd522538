import LiveRoom
import Testing

@testable import Gateway

@Suite("Messages between cluster nodes")
struct NodeMessageTests {
    @Test func everyKindSurvivesEncodingAndDecoding() {
        let from = RemoteMember(node: "node-1", boot: "b1", member: 7)
        let messages: [NodeMessage] = [
            .join(room: "farm", from: from, identity: Identity(user: "u", name: "名字", role: .viewer), since: 3, epoch: "e"),
            .leave(room: "farm", from: from),
            .command(room: "farm", from: from, message: "{\"type\":\"comment\",\"text\":\"a\\nb\"}"),
            .deliver(room: "farm", members: [1, 2], welcome: true, staff: false, event: "{\"type\":\"x\"}"),
            .close(room: "farm", members: [3], code: 1012, reason: "room moved"),
            .shop(room: "farm", node: "node-2", ticket: 42, change: "pay", order: "farm-e1-9"),
            .shopAnswer(
                ticket: 42, outcome: "conflict", message: "order farm-e1-9 was cancelled (expired)", order: "{\"id\":\"farm-e1-9\"}"),
        ]
        for message in messages {
            #expect(NodeMessage.decode(Array(message.encoded().utf8)) == message)
        }
    }

    @Test func malformedShopMessagesAreDropped() {
        #expect(NodeMessage.decode(Array("P\nfarm\nnode\nnot-a-number\npay\nid".utf8)) == nil)
        #expect(NodeMessage.decode(Array("P\nfarm\nnode\n1\nrefund\nid".utf8)) == nil)
        #expect(NodeMessage.decode(Array("A\nx\ndone\n\n".utf8)) == nil)
        // A newline in an answer's message cannot split its fields.
        let answer = NodeMessage.shopAnswer(ticket: 1, outcome: "conflict", message: "two\nlines", order: "")
        #expect(
            NodeMessage.decode(Array(answer.encoded().utf8)) == .shopAnswer(ticket: 1, outcome: "conflict", message: "two lines", order: "")
        )
    }
}
