"""Synthetic data, made by the project's own seeded code (no real person anywhere).

`corpus/` writes labelled marketplace messages (training, evaluation); `messages`, `telegram`
and `whatsapp` render them as channel exports; `sample` builds the bundled sample exports
(`SAMPLE_DIR`) that the demo ingests; `links` makes reposted and re-worded listings for linking.
Tests, benches, training and the demo use it; ingest, text and link never do.
"""
