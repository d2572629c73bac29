"""Recall audits: stratified random samples of unflagged messages, labelled in the queue like any
item, and design-based estimates of the listings the model misses (`sample`, `estimate`, `store`)."""
