"""Linking: near-duplicate clusters of reposted listings, and entities (phones, users, photos) shared by messages.

Pure parts: `sketch` (shingles and MinHash signatures), `lsh` (banding, candidate pairs,
components), `template` (what a cluster's members share and what varies), `contacts`
(entity keys from signals), `photos` (SHA-256 and PDQ hashes). Database parts:
`clusters`, `entities`, `run.link_pending`, `queries`, `graph`.
"""
