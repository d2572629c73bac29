"""Missing-person watchlists: PDQ hashes that families and partners supply, never their photos.

`hashes` (pure: hash files, photo hashing, references, variant names), `store` (lists and
entries, audited), `index` (a multi-index: every stored hash within 31 bits of a query, exactly,
without a scan), `match` (every listing photo against every entry within the linking distance),
`queue` (a match makes its message a critical queue item), `queries` (what the item page shows),
`commands` (`detector watchlist ...`). Format: docs/watchlists.md.
"""
