"""What tf_nst reads and writes: images (``images``), the embedded VGG-19 weights (``weights``) and the built-in
demo images (``demo``)."""
