"""Missing-person watchlists: PDQ hashes that families and partners supply, never their photos.

`hashes` (pure: hash files, photo hashing, references, variant names), `store` (lists and
entries, audited), `match` (every listing photo against every entry within the linking
distance), `queue` (a match makes its message a critical queue item), `queries` (what the
item page shows), `commands` (`detector watchlist ...`). Format: docs/watchlists.md.
"""
