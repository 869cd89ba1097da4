"""Scripts that answered one question once; bench/README.md quotes what they measured."""
