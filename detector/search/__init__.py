"""Full-text search over message text and contacts.

`terms` is pure (what is indexed for a message, what a query asks for); `index` keeps the
`message_search` rows current; `query` turns a search into the matching message ids.
"""
