"""ragchat: retrieval-augmented chat over your own documents, on a laptop or on AWS."""

__version__ = "0.1.0"
