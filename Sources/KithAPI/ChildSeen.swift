/// What a contact says of the children in focus, for the server, the client and the tests.
extension Components.Schemas.ChildSeen {
    /// The contact's summary `childSeen`: as said, else whether any child named was seen, else true for a child seen
    /// alone (who was seen), else not said.
    package static func summary(_ childSeen: Bool?, alone: Bool?, _ children: [Self]?) -> Bool? {
        if let childSeen { return childSeen }
        if let children, !children.isEmpty { return children.contains(where: \.seen) }
        return alone == true ? true : nil
    }
}
