"""The feature extractor as a SavedModel for TensorFlow Serving (``export``), and the bounded image decoding its
signatures run in the serving process (``images``)."""
