"""The labelling queue: a browser app analysts and reviewers work in all day."""
