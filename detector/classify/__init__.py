"""Classification: synthetic corpus, fast tier, transformer tier, cascade, training, evaluation,
model registry. Load a model with `detector.classify.registry.load_model(path)`."""
